import { TRPCError } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { AppError, APP_CODES, errorData, toTRPCError, zodFieldErrors, type AppCode } from "./errors";
import { publicProcedure, router, type Context } from "./api/trpc";
import { log } from "./log";

// The "unexpected error" case below is logged by design; keep the test output clean.
beforeAll(() => {
  log.level = "silent";
});

/** The ZodError a schema raises for `value`. */
function zodError(schema: z.ZodType, value: unknown): z.ZodError {
  const parsed = schema.safeParse(value);
  if (parsed.success) throw new Error("expected the schema to refuse the value");
  return parsed.error;
}

describe("AppError → tRPC error", () => {
  const expected: Record<AppCode, string> = {
    NAME_INVALID: "BAD_REQUEST",
    NAME_TAKEN: "CONFLICT",
    NOT_FOUND: "NOT_FOUND",
    INPUT_INVALID: "BAD_REQUEST",
    ADDRESS_CONFLICT: "CONFLICT",
    POOL_EXHAUSTED: "CONFLICT",
    CONFLICT: "CONFLICT",
    LIMIT: "TOO_MANY_REQUESTS",
    UNAUTHENTICATED: "UNAUTHORIZED",
    FORBIDDEN: "FORBIDDEN",
    APPLY_FAILED: "INTERNAL_SERVER_ERROR",
    HOST_UNSUPPORTED: "INTERNAL_SERVER_ERROR",
    INTERNAL: "INTERNAL_SERVER_ERROR",
  };

  it("covers every appCode of API.md", () => {
    expect([...APP_CODES].sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(Object.entries(expected))("%s → %s, keeping the message and the appCode", (appCode, trpcCode) => {
    const error = toTRPCError(new AppError(appCode as AppCode, `something about ${appCode}`));
    expect(error).toBeInstanceOf(TRPCError);
    expect(error.code).toBe(trpcCode);
    expect(error.message).toBe(`something about ${appCode}`);
    expect(errorData(error).appCode).toBe(appCode);
  });

  it("passes fieldErrors and detail (the failed command, its stderr) to the client", () => {
    const error = toTRPCError(
      new AppError("APPLY_FAILED", "the kernel refused", {
        command: ["ip", "link", "add", "x"],
        stderr: "RTNETLINK answers: File exists",
        fieldErrors: { subnet: ["overlaps 10.0.0.0/8"] },
      }),
    );
    expect(errorData(error)).toEqual({
      appCode: "APPLY_FAILED",
      fieldErrors: { subnet: ["overlaps 10.0.0.0/8"] },
      detail: { command: ["ip", "link", "add", "x"], stderr: "RTNETLINK answers: File exists" },
    });
  });

  it("leaves out empty detail", () => {
    expect(errorData(toTRPCError(new AppError("NOT_FOUND", "no such sandbox")))).toEqual({ appCode: "NOT_FOUND" });
  });
});

describe("other thrown values", () => {
  it("hides the message of an unexpected error", () => {
    const error = toTRPCError(new Error("SQLITE_CORRUPT at /var/lib/nslab/secret-path"));
    expect(error.code).toBe("INTERNAL_SERVER_ERROR");
    expect(error.message).toBe("Internal error");
    expect(errorData(error).appCode).toBe("INTERNAL");
  });

  it.each([
    ["UNAUTHORIZED", "UNAUTHENTICATED"],
    ["FORBIDDEN", "FORBIDDEN"],
    ["TOO_MANY_REQUESTS", "LIMIT"],
    ["NOT_FOUND", "NOT_FOUND"],
    ["BAD_REQUEST", "INPUT_INVALID"],
    ["PAYLOAD_TOO_LARGE", "INPUT_INVALID"],
  ] as const)("a TRPCError %s keeps its code and gets appCode %s", (code, appCode) => {
    const original = new TRPCError({ code, message: "why" });
    const error = toTRPCError(original);
    expect(error).toBe(original);
    expect(errorData(error).appCode).toBe(appCode);
  });
});

describe("zod errors", () => {
  const userInput = z.strictObject({
    username: z.string().max(8),
    role: z.enum(["admin", "viewer"]),
    port: z.number().int(),
  });

  it("name each failing field in fieldErrors and in the message", () => {
    const zerr = zodError(userInput, { username: "much-too-long-name", role: "king", port: "80" });
    const fields = zodFieldErrors(zerr);
    expect(Object.keys(fields).sort()).toEqual(["port", "role", "username"]);
    const error = toTRPCError(zerr);
    expect(error.code).toBe("BAD_REQUEST");
    for (const field of ["username", "role", "port"]) expect(error.message).toContain(field);
    expect(errorData(error)).toMatchObject({ appCode: "INPUT_INVALID", fieldErrors: fields });
  });

  it("name unknown fields", () => {
    const zerr = zodError(userInput, { username: "ann", role: "admin", port: 1, isAdmin: true });
    const fields = zodFieldErrors(zerr);
    expect(Object.keys(fields)).toEqual(["isAdmin"]);
    expect(fields.isAdmin![0]).toMatch(/unknown field.*isAdmin/);
    expect(errorData(toTRPCError(zerr)).appCode).toBe("INPUT_INVALID");
  });

  it("join nested paths with dots", () => {
    const schema = z.strictObject({ sandboxes: z.array(z.strictObject({ name: z.string().regex(/^[a-z]+$/), mtu: z.number() })) });
    const fields = zodFieldErrors(zodError(schema, { sandboxes: [{ name: "ok", mtu: 1500 }, { name: "Bad!", mtu: 1500 }] }));
    expect(Object.keys(fields)).toEqual(["sandboxes.1.name"]);
  });

  it("give NAME_INVALID when only name fields failed, INPUT_INVALID when anything else did", () => {
    const schema = z.strictObject({ name: z.string().regex(/^[a-z]+$/), subnet: z.string().max(18).optional() });
    const nameOnly = toTRPCError(zodError(schema, { name: "-rf" }));
    expect(errorData(nameOnly).appCode).toBe("NAME_INVALID");
    const mixed = toTRPCError(zodError(schema, { name: "-rf", subnet: "x".repeat(40) }));
    expect(errorData(mixed).appCode).toBe("INPUT_INVALID");
    const nested = z.strictObject({ sandboxes: z.array(z.strictObject({ name: z.string().regex(/^[a-z]+$/) })) });
    expect(errorData(toTRPCError(zodError(nested, { sandboxes: [{ name: "A B" }] }))).appCode).toBe("NAME_INVALID");
  });

  it("are unwrapped from the TRPCError tRPC's input parser throws", () => {
    const zerr = zodError(userInput, { username: "ann", role: "admin", port: 1.5 });
    const wrapped = new TRPCError({ code: "BAD_REQUEST", cause: zerr });
    const error = toTRPCError(wrapped);
    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message).toContain("port");
    expect(errorData(error)).toMatchObject({ appCode: "INPUT_INVALID", fieldErrors: { port: expect.any(Array) } });
  });
});

describe("the wire format (tRPC's fetch handler with nslab's error formatter)", () => {
  const testRouter = router({
    create: publicProcedure
      .input(z.strictObject({ name: z.string().regex(/^[a-z]+$/, "lower-case letters only"), size: z.number().max(10).optional() }))
      .mutation(({ input }) => {
        if (input.name === "taken") throw new AppError("NAME_TAKEN", "Sandbox taken already exists");
        if (input.name === "boom") throw new Error("secret internal detail");
        return { ok: true };
      }),
  });

  async function call(input: unknown): Promise<{ status: number; body: any }> {
    const req = new Request("http://127.0.0.1/api/trpc/create", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(input),
    });
    const res = await fetchRequestHandler({
      endpoint: "/api/trpc",
      req,
      router: testRouter,
      createContext: () => ({}) as Context,
      onError: () => undefined,
    });
    return { status: res.status, body: await res.json() };
  }

  it("answers success as {result:{data}}", async () => {
    expect(await call({ name: "abc" })).toEqual({ status: 200, body: { result: { data: { ok: true } } } });
  });

  it("answers a bad name with 400, BAD_REQUEST, NAME_INVALID and fieldErrors", async () => {
    const { status, body } = await call({ name: "Bad Name" });
    expect(status).toBe(400);
    expect(body.error.data).toMatchObject({
      code: "BAD_REQUEST",
      httpStatus: 400,
      appCode: "NAME_INVALID",
      fieldErrors: { name: ["lower-case letters only"] },
    });
    expect(body.error.message).toContain("name");
    expect(body.error.data.stack).toBeUndefined();
  });

  it("answers unknown fields and wrong types with INPUT_INVALID naming them", async () => {
    const { status, body } = await call({ name: "abc", size: "big", admin: true });
    expect(status).toBe(400);
    expect(body.error.data.appCode).toBe("INPUT_INVALID");
    expect(Object.keys(body.error.data.fieldErrors).sort()).toEqual(["admin", "size"]);
  });

  it("answers an AppError with its mapped status and appCode", async () => {
    const { status, body } = await call({ name: "taken" });
    expect(status).toBe(409);
    expect(body.error.message).toBe("Sandbox taken already exists");
    expect(body.error.data).toMatchObject({ code: "CONFLICT", appCode: "NAME_TAKEN" });
  });

  it("answers a body that is not JSON with a 400, not a 500", async () => {
    const req = new Request("http://127.0.0.1/api/trpc/create", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    const res = await fetchRequestHandler({ endpoint: "/api/trpc", req, router: testRouter, createContext: () => ({}) as Context, onError: () => undefined });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.data).toMatchObject({ code: expect.stringMatching(/^(PARSE_ERROR|BAD_REQUEST)$/), httpStatus: 400, appCode: "INPUT_INVALID" });
    expect(body.error.message).not.toBe("Internal error");
  });

  it("answers an unknown procedure with 404 NOT_FOUND", async () => {
    const req = new Request("http://127.0.0.1/api/trpc/nope", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    const res = await fetchRequestHandler({ endpoint: "/api/trpc", req, router: testRouter, createContext: () => ({}) as Context, onError: () => undefined });
    expect(res.status).toBe(404);
    expect((await res.json()).error.data).toMatchObject({ code: "NOT_FOUND", appCode: "NOT_FOUND" });
  });

  it("answers an unexpected error with 500 and no internal detail", async () => {
    const { status, body } = await call({ name: "boom" });
    expect(status).toBe(500);
    expect(body.error.data).toMatchObject({ code: "INTERNAL_SERVER_ERROR", appCode: "INTERNAL" });
    expect(JSON.stringify(body)).not.toContain("secret internal detail");
  });
});
