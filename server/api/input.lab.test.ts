// Bad input against the real console in the lab: schemas name the field, over-large
// bodies are refused, and nothing is written when validation fails.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, apiError, signInAdmin } from "@/test-support/api-client";
import { startServer, type TestServer } from "@/test-support/server";

let server: TestServer;
let admin: ApiClient;

beforeAll(async () => {
  server = await startServer();
  admin = await signInAdmin(server);
});
afterAll(async () => {
  await server?.stop();
});

/** Everything a refused call must leave as it was. */
async function state() {
  return {
    users: await admin.query("user.list"),
    tokens: await admin.query("token.list"),
    audit: await admin.query("audit.list", { limit: 1000 }),
  };
}

describe("validation", () => {
  const good = { username: "valid-user", password: "a-good-password", role: "viewer" };
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ["an unknown field", { ...good, isRoot: true }, "isRoot"],
    ["an over-long user name", { ...good, username: `u${"x".repeat(300)}` }, "username"],
    ["a user name with a shell metacharacter", { ...good, username: "ann;rm" }, "username"],
    ["an over-long password", { ...good, password: "p".repeat(5000) }, "password"],
    ["a short password", { ...good, password: "short" }, "password"],
    ["a wrong type", { ...good, role: 5 }, "role"],
    ["an unknown role", { ...good, role: "root" }, "role"],
    ["a bad runAs account", { ...good, runAs: ["root", "-oProxyCommand"] }, "runAs.1"],
    ["a missing field", { username: "valid-user", role: "viewer" }, "password"],
  ];

  it.each(cases)("refuses %s with BAD_REQUEST naming the field, and writes nothing", async (_label, input, field) => {
    const before = await state();
    const error = await apiError(() => admin.mutate("user.create", input));
    expect(error.status).toBe(400);
    expect(error.code).toBe("BAD_REQUEST");
    expect(["INPUT_INVALID", "NAME_INVALID"]).toContain(error.appCode);
    expect(Object.keys(error.fieldErrors ?? {})).toContain(field);
    expect(error.message).toContain(field);
    expect(await state()).toEqual(before);
  });

  it("refuses a body that is not an object, or not JSON", async () => {
    const before = await state();
    expect((await apiError(() => admin.mutate("user.create", ["admin"]))).code).toBe("BAD_REQUEST");
    const res = await fetch(`${server.baseURL}/api/trpc/user.create`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: admin.cookie!, origin: server.baseURL },
      body: "{not json",
    });
    expect(res.status).toBe(400);
    expect(await state()).toEqual(before);
  });

  it("names bad query input too (GET ?input=)", async () => {
    const error = await apiError(() => admin.query("audit.list", { limit: "lots", color: "red" }));
    expect(error.code).toBe("BAD_REQUEST");
    expect(Object.keys(error.fieldErrors ?? {}).sort()).toEqual(["color", "limit"]);
  });

  it("refuses control characters in a token name", async () => {
    const before = await state();
    const error = await apiError(() => admin.mutate("token.create", { name: "line\nbreak" }));
    expect(Object.keys(error.fieldErrors ?? {})).toEqual(["name"]);
    expect(await state()).toEqual(before);
  });
});

describe("request body size", () => {
  const big = () => JSON.stringify({ username: "huge-body", password: "x".repeat(1024 * 1024 + 100), role: "viewer" });

  it("refuses a body over 1 MiB with 413 and writes nothing", async () => {
    const before = await state();
    const res = await fetch(`${server.baseURL}/api/trpc/user.create`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: admin.cookie!, origin: server.baseURL },
      body: big(),
    });
    expect(res.status).toBe(413);
    const body = await res.json();
    expect(body.error.data).toMatchObject({ code: "PAYLOAD_TOO_LARGE", httpStatus: 413 });
    expect(await state()).toEqual(before);
  });

  it("refuses it too when it comes without a Content-Length (chunked)", async () => {
    const before = await state();
    const bytes = new TextEncoder().encode(big());
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < bytes.length; offset += 64 * 1024) controller.enqueue(bytes.slice(offset, offset + 64 * 1024));
        controller.close();
      },
    });
    const res = await fetch(`${server.baseURL}/api/trpc/user.create`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: admin.cookie!, origin: server.baseURL },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await state()).toEqual(before);
  });

  it("accepts a body just under the limit (then validates it as usual)", async () => {
    const res = await fetch(`${server.baseURL}/api/trpc/token.create`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: admin.cookie!, origin: server.baseURL },
      body: JSON.stringify({ name: "n".repeat(1000 * 1000) }),
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.data.fieldErrors).toHaveProperty("name");
  });
});
