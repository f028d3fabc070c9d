// Roles, the Origin check on cookie mutations and bearer tokens, against the real console in the lab.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, apiError, signInAdmin, signInNewUsers } from "@/test-support/api-client";
import { startServer, type TestServer } from "@/test-support/server";

let server: TestServer;
let admin: ApiClient;
let viewer: ApiClient;

type AuditRow = { id: number; user: string; action: string; target: string | null; result: "ok" | "error"; input: unknown };

beforeAll(async () => {
  server = await startServer();
  admin = await signInAdmin(server);
  [viewer] = await signInNewUsers(admin, [["vera", "viewer"]]);
});
afterAll(async () => {
  await server?.stop();
});

const usernames = async () => (await admin.query<Array<{ username: string }>>("user.list")).map((u) => u.username);
const auditRows = () => admin.query<AuditRow[]>("audit.list", { limit: 1000 });

describe("roles", () => {
  it("lets a viewer read its own identity", async () => {
    expect(await viewer.query("auth.me")).toMatchObject({ username: "vera", role: "viewer" });
  });

  it("refuses a viewer's user.create with FORBIDDEN, creates nobody and writes no ok audit row", async () => {
    const before = await auditRows();
    const error = await apiError(() => viewer.mutate("user.create", { username: "mallory", password: "mallory-password", role: "admin" }));
    expect(error.status).toBe(403);
    expect(error.code).toBe("FORBIDDEN");
    expect(error.appCode).toBe("FORBIDDEN");
    expect(await usernames()).not.toContain("mallory");
    const after = await auditRows();
    const newRows = after.filter((row) => !before.some((b) => b.id === row.id));
    expect(newRows.filter((row) => row.action === "user.create" && row.result === "ok")).toEqual([]);
    expect(newRows.filter((row) => row.target === "mallory")).toEqual([]);
  });

  it("refuses a viewer every admin procedure", async () => {
    expect((await apiError(() => viewer.query("user.list"))).code).toBe("FORBIDDEN");
    expect((await apiError(() => viewer.mutate("user.update", { username: "vera", role: "admin" }))).code).toBe("FORBIDDEN");
    expect((await apiError(() => viewer.mutate("user.delete", { username: "admin" }))).code).toBe("FORBIDDEN");
    expect(await viewer.query("auth.me")).toMatchObject({ role: "viewer" });
    expect(await usernames()).toContain("admin");
  });

  it("takes a role change into account at once (no stale role in the session)", async () => {
    await admin.mutate("user.create", { username: "otto", password: "otto-password-1", role: "admin" });
    const otto = new ApiClient(server.baseURL);
    await otto.login("otto", "otto-password-1");
    expect(await otto.query("user.list")).toBeInstanceOf(Array);
    await admin.mutate("user.update", { username: "otto", role: "viewer" });
    expect((await apiError(() => otto.query("user.list"))).code).toBe("FORBIDDEN");
    await admin.mutate("user.delete", { username: "otto" });
    expect((await apiError(() => otto.query("auth.me"))).code).toBe("UNAUTHORIZED");
  });
});

describe("the Origin check on cookie-authenticated mutations", () => {
  const cases: Array<[string, string | null]> = [
    ["a foreign Origin", "http://evil.example"],
    ["no Origin", null],
    ['Origin "null"', "null"],
    ["the same host on another port", "http://127.0.0.1:1"],
  ];

  it.each(cases)("refuses %s with FORBIDDEN and changes nothing", async (_label, origin) => {
    const usersBefore = await usernames();
    const tokensBefore = await admin.query<unknown[]>("token.list");
    const auditBefore = (await auditRows()).length;

    const create = await apiError(() => admin.mutate("user.create", { username: "csrf-victim", password: "whatever-123", role: "admin" }, { origin }));
    expect(create.code).toBe("FORBIDDEN");
    const token = await apiError(() => admin.mutate("token.create", { name: "csrf" }, { origin }));
    expect(token.code).toBe("FORBIDDEN");
    const logout = await apiError(() => admin.mutate("auth.logout", undefined, { origin }));
    expect(logout.code).toBe("FORBIDDEN");

    expect(await usernames()).toEqual(usersBefore);
    expect(await admin.query("token.list")).toEqual(tokensBefore);
    expect(await auditRows()).toHaveLength(auditBefore);
    expect(await admin.query("auth.me")).toMatchObject({ username: "admin" }); // still signed in
  });

  it("lets queries through without an Origin (they change nothing)", async () => {
    expect(await admin.query("auth.me", undefined, { origin: null })).toMatchObject({ username: "admin" });
  });
});

describe("bearer tokens", () => {
  it("work without a cookie or Origin, and stop at once after token.revoke", async () => {
    const { id, token } = await admin.mutate<{ id: string; token: string }>("token.create", { name: "ci-script" });
    expect(token).toMatch(/^nslab_/);

    const bearer = new ApiClient(server.baseURL).withToken(token);
    expect(bearer.cookie).toBeNull();
    expect(await bearer.query("auth.me", undefined, { origin: null })).toMatchObject({ username: "admin", role: "admin" });
    // A token-authenticated mutation needs no Origin.
    const second = await bearer.mutate<{ id: string }>("token.create", { name: "made-by-token" }, { origin: null });

    const listed = await admin.query<Array<{ id: string; name: string; lastUsedAt: string | null }>>("token.list");
    expect(listed.map((t) => t.name)).toEqual(expect.arrayContaining(["ci-script", "made-by-token"]));
    expect(JSON.stringify(listed)).not.toContain(token); // never the secret
    expect(listed.find((t) => t.id === id)?.lastUsedAt).toEqual(expect.any(String));

    await admin.mutate("token.revoke", { id });
    const error = await apiError(() => bearer.query("auth.me", undefined, { origin: null }));
    expect(error.code).toBe("UNAUTHORIZED");
    expect((await apiError(() => bearer.mutate("token.revoke", { id: second.id }, { origin: null }))).code).toBe("UNAUTHORIZED");
  });

  it("act with the role of their owner", async () => {
    const { token } = await viewer.mutate<{ id: string; token: string }>("token.create", { name: "viewer-token" });
    const bearer = new ApiClient(server.baseURL).withToken(token);
    expect(await bearer.query("auth.me")).toMatchObject({ username: "vera", role: "viewer" });
    expect((await apiError(() => bearer.query("user.list"))).code).toBe("FORBIDDEN");
  });

  it("refuse a made-up token, and a bad token never falls back to the cookie", async () => {
    const fake = new ApiClient(server.baseURL).withToken("nslab_not-a-real-token");
    expect((await apiError(() => fake.query("auth.me"))).code).toBe("UNAUTHORIZED");
    const both = new ApiClient(server.baseURL);
    both.cookie = admin.cookie;
    both.token = "nslab_not-a-real-token";
    expect((await apiError(() => both.query("auth.me"))).code).toBe("UNAUTHORIZED");
  });

  it("cannot be revoked by another user", async () => {
    const { id } = await admin.mutate<{ id: string }>("token.create", { name: "admins-own" });
    const error = await apiError(() => viewer.mutate("token.revoke", { id }));
    expect(error.code).toBe("NOT_FOUND");
    expect((await admin.query<Array<{ id: string }>>("token.list")).map((t) => t.id)).toContain(id);
  });
});
