import { describe, expect, it } from "vitest";
import { readCookie, sessionCookieHeader, SESSION_COOKIE } from "./sessions";

describe("session cookie", () => {
  it("is HttpOnly, SameSite=Strict, on the whole site, with an expiry", () => {
    const expires = new Date("2030-01-02T03:04:05Z");
    const header = sessionCookieHeader("id.secret", expires, false);
    const parts = header.split("; ");
    expect(parts[0]).toBe(`${SESSION_COOKIE}=id.secret`);
    expect(parts).toContain("HttpOnly");
    expect(parts).toContain("SameSite=Strict");
    expect(parts).toContain("Path=/");
    expect(parts).toContain(`Expires=${expires.toUTCString()}`);
    expect(parts).not.toContain("Secure");
  });

  it("is Secure over https, and cleared with Max-Age=0", () => {
    expect(sessionCookieHeader("v", new Date(), true).split("; ")).toContain("Secure");
    const cleared = sessionCookieHeader("", null, false);
    expect(cleared.startsWith(`${SESSION_COOKIE}=;`)).toBe(true);
    expect(cleared).toContain("Max-Age=0");
  });

  it("is read from a Cookie header among others, by exact name", () => {
    const header = `theme=dark; x${SESSION_COOKIE}=wrong; ${SESSION_COOKIE}=abc.def; other=1`;
    expect(readCookie(header, SESSION_COOKIE)).toBe("abc.def");
    expect(readCookie("theme=dark", SESSION_COOKIE)).toBeNull();
    expect(readCookie(null, SESSION_COOKIE)).toBeNull();
  });
});
