// Sign-in, sessions and sign-in rate limiting, against the real console (next start) in the lab.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, apiError } from "@/test-support/api-client";
import { startServer, type TestServer } from "@/test-support/server";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

const client = () => new ApiClient(server.baseURL);

describe("auth.login", () => {
  it("refuses a wrong password with UNAUTHORIZED and no hint of which part was wrong", async () => {
    const wrongPassword = await apiError(() => client().login("admin", "not-the-password"));
    const unknownUser = await apiError(() => client().login("nobody-here", "not-the-password"));
    for (const error of [wrongPassword, unknownUser]) {
      expect(error.status).toBe(401);
      expect(error.code).toBe("UNAUTHORIZED");
      expect(error.appCode).toBe("UNAUTHENTICATED");
    }
    // The same words whichever part was wrong, and neither names the part.
    expect(unknownUser.message).toBe(wrongPassword.message);
    expect(wrongPassword.message).not.toMatch(/no such user|unknown user|not found|incorrect password|wrong password\b/i);
  });

  it("sets an HttpOnly SameSite=Strict session cookie for the right password; auth.me is admin", async () => {
    const res = await fetch(`${server.baseURL}/api/trpc/auth.login`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: server.baseURL },
      body: JSON.stringify({ username: "admin", password: server.adminPassword }),
    });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/^nslab_session=[^;]+;/);
    expect(setCookie).toMatch(/;\s*HttpOnly/i);
    expect(setCookie).toMatch(/;\s*SameSite=Strict/i);
    expect(await res.json()).toEqual({ result: { data: { username: "admin", role: "admin" } } });

    const admin = client();
    await admin.login("admin", server.adminPassword);
    expect(await admin.query("auth.me")).toMatchObject({ username: "admin", role: "admin" });
  });

  it("refuses every procedure but login without a session: UNAUTHORIZED", async () => {
    const anonymous = client();
    for (const procedure of ["auth.me", "user.list", "token.list", "audit.list"]) {
      const error = await apiError(() => anonymous.query(procedure));
      expect(error.code, procedure).toBe("UNAUTHORIZED");
    }
    const error = await apiError(() => anonymous.mutate("token.create", { name: "x" }));
    expect(error.code).toBe("UNAUTHORIZED");
  });

  it("refuses a sign-in posted from another site (login CSRF)", async () => {
    const error = await apiError(() =>
      client().mutate("auth.login", { username: "admin", password: server.adminPassword }, { origin: "http://evil.example" }),
    );
    expect(error.code).toBe("FORBIDDEN");
  });

  it("refuses a forged or garbled session cookie", async () => {
    const admin = client();
    await admin.login("admin", server.adminPassword);
    const [name, value] = admin.cookie!.split("=");
    const [id] = value!.split(".");
    for (const cookie of [`${name}=${id}.forged-secret`, `${name}=garbage`, `${name}=`]) {
      const forged = client();
      forged.cookie = cookie;
      expect((await apiError(() => forged.query("auth.me"))).code).toBe("UNAUTHORIZED");
    }
  });
});

describe("auth.logout", () => {
  it("ends the session on the server: the old cookie stops working", async () => {
    const admin = client();
    await admin.login("admin", server.adminPassword);
    const oldCookie = admin.cookie!;
    expect(await admin.query("auth.me")).toMatchObject({ username: "admin" });
    await admin.mutate("auth.logout");
    expect(admin.cookie).toBeNull(); // the answer cleared it
    const replay = client();
    replay.cookie = oldCookie;
    const error = await apiError(() => replay.query("auth.me"));
    expect(error.code).toBe("UNAUTHORIZED");
  });

  it("leaves the user's other sessions alone", async () => {
    const first = client();
    const second = client();
    await first.login("admin", server.adminPassword);
    await second.login("admin", server.adminPassword);
    await first.mutate("auth.logout");
    expect(await second.query("auth.me")).toMatchObject({ username: "admin" });
  });
});

describe("sign-in rate limiting", () => {
  it("refuses the 4th wrong password within a few seconds with TOO_MANY_REQUESTS / LIMIT, even with the right one", async () => {
    const admin = client();
    await admin.login("admin", server.adminPassword);
    await admin.mutate("user.create", { username: "ratelimited", password: "the-right-password", role: "viewer" });

    for (let i = 0; i < 3; i++) {
      expect((await apiError(() => client().login("ratelimited", `wrong-${i}`))).code).toBe("UNAUTHORIZED");
    }
    const limited = await apiError(() => client().login("ratelimited", "wrong-3"));
    expect(limited.status).toBe(429);
    expect(limited.code).toBe("TOO_MANY_REQUESTS");
    expect(limited.appCode).toBe("LIMIT");
    // While limited, not even the right password is checked.
    expect((await apiError(() => client().login("ratelimited", "the-right-password"))).appCode).toBe("LIMIT");
  });

  it("cannot be stepped around by a made-up client address header", async () => {
    const admin = client();
    await admin.login("admin", server.adminPassword);
    await admin.mutate("user.create", { username: "spoofer", password: "the-right-password", role: "viewer" });
    const attempt = async (i: number) => {
      const res = await fetch(`${server.baseURL}/api/trpc/auth.login`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-nslab-client": `10.9.9.${i}`,
          "x-forwarded-for": `10.8.8.${i}`,
          "x-real-ip": `10.7.7.${i}`,
        },
        body: JSON.stringify({ username: "spoofer", password: `wrong-${i}` }),
      });
      return res.status;
    };
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push(await attempt(i));
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it("does not lock out other users", async () => {
    const admin = client();
    await admin.login("admin", server.adminPassword);
    expect(await admin.query("auth.me")).toMatchObject({ username: "admin" });
  });
});
