// The first admin on first start, against the real console in the lab.
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ApiClient, apiError } from "@/test-support/api-client";
import { startServer, type TestServer } from "@/test-support/server";

const servers: TestServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
});

describe("first start without NSLAB_ADMIN_PASSWORD", () => {
  it("generates a password, prints it once, writes it to <data dir>/initial-admin-password with mode 0600", async () => {
    // An empty variable counts as unset (loadConfig), as `NSLAB_ADMIN_PASSWORD= npm start` would give.
    const server = await startServer({ env: { NSLAB_ADMIN_PASSWORD: "" } });
    servers.push(server);
    const file = path.join(server.dataDir, "initial-admin-password");
    const stat = fs.statSync(file);
    expect(stat.mode & 0o777).toBe(0o600);
    const password = fs.readFileSync(file, "utf8").trim();
    expect(password.length).toBeGreaterThanOrEqual(16);
    expect(password).not.toBe(server.adminPassword);
    expect(server.output()).toContain(password);

    // The generated password signs in; the test harness's usual one does not.
    const admin = new ApiClient(server.baseURL);
    await admin.login("admin", password);
    expect(await admin.query("auth.me")).toMatchObject({ username: "admin", role: "admin" });
    expect((await apiError(() => new ApiClient(server.baseURL).login("admin", server.adminPassword))).code).toBe("UNAUTHORIZED");

    // A restart with users in the store creates nothing and prints no new password.
    await server.restart();
    const printed = server.output().split("\n").filter((line) => line.includes("created user admin"));
    expect(printed).toHaveLength(1);
    expect(fs.readFileSync(file, "utf8").trim()).toBe(password);
    const again = new ApiClient(server.baseURL);
    await again.login("admin", password);
    expect(await again.query("auth.me")).toMatchObject({ username: "admin" });
  });
});

describe("first start with NSLAB_ADMIN_PASSWORD", () => {
  it("uses it, writes no password file, and never prints the password", async () => {
    const server = await startServer();
    servers.push(server);
    expect(fs.existsSync(path.join(server.dataDir, "initial-admin-password"))).toBe(false);
    expect(server.output()).not.toContain(server.adminPassword);
    const admin = new ApiClient(server.baseURL);
    await admin.login("admin", server.adminPassword);
    expect(await admin.query("auth.me")).toMatchObject({ role: "admin" });
  });
});
