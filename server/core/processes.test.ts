import { describe, expect, it } from "vitest";
import { zodFieldErrors } from "../errors";
import { auditInputOf, outputInputSchema, startInputSchema, stopInputSchema } from "./processes";

const ok = { sandbox: "web", argv: ["python3", "-m", "http.server"], user: "nobody" };

function errorsOf(input: unknown): Record<string, string[]> {
  const result = startInputSchema.safeParse(input);
  if (result.success) throw new Error(`accepted ${JSON.stringify(input)}`);
  return zodFieldErrors(result.error);
}

describe("process.start input", () => {
  it("accepts a plain start with cwd and env", () => {
    expect(startInputSchema.parse({ ...ok, cwd: "/tmp", env: { A_1: "x y", _B: "" } })).toBeTruthy();
  });

  it("refuses an empty argv, naming argv", () => {
    expect(errorsOf({ ...ok, argv: [] })).toEqual({ argv: ["must not be empty: argv[0] names the program to run"] });
  });

  it("refuses a NUL byte anywhere, naming the argument", () => {
    expect(errorsOf({ ...ok, argv: ["echo", "a\0b"] })).toEqual({ "argv.1": ["must not contain a NUL byte"] });
    expect(Object.keys(errorsOf({ ...ok, cwd: "/tmp\0x" }))).toEqual(["cwd"]);
    expect(Object.keys(errorsOf({ ...ok, env: { A: "x\0" } }))).toEqual(["env.A"]);
  });

  it("refuses a program name that is empty, an option or an assignment", () => {
    expect(Object.keys(errorsOf({ ...ok, argv: [""] }))).toEqual(["argv.0"]);
    expect(Object.keys(errorsOf({ ...ok, argv: ["-i"] }))).toEqual(["argv.0"]);
    expect(Object.keys(errorsOf({ ...ok, argv: ["A=1", "sh"] }))).toEqual(["argv.0"]);
  });

  it("refuses env names that are not identifiers, naming each", () => {
    const errors = errorsOf({ ...ok, env: { "1BAD": "x", "A-B": "y", "A=B": "z", GOOD: "ok" } });
    expect(Object.keys(errors).sort()).toEqual(["env.1BAD", "env.A-B", "env.A=B"]);
    expect(errors["env.1BAD"]![0]).toMatch(/not a valid variable name/);
  });

  it("refuses a relative cwd", () => {
    expect(errorsOf({ ...ok, cwd: "tmp" })).toEqual({ cwd: ["must be an absolute path (start with /)"] });
  });

  it("refuses bad users, sandboxes and unknown fields", () => {
    expect(Object.keys(errorsOf({ ...ok, user: "-root" }))).toEqual(["user"]);
    expect(Object.keys(errorsOf({ ...ok, user: "a b" }))).toEqual(["user"]);
    expect(Object.keys(errorsOf({ ...ok, sandbox: "../x" }))).toEqual(["sandbox"]);
    // An unknown field (here one asking for a shell) is refused by name.
    expect(Object.keys(errorsOf({ ...ok, shell: "yes" }))).toEqual(["shell"]);
  });

  it("refuses an argv too large for exec", () => {
    expect(Object.keys(errorsOf({ ...ok, argv: ["echo", ...Array(8).fill("x".repeat(40000))] }))).toEqual(["argv"]);
  });
});

describe("other inputs", () => {
  it("stop takes TERM, KILL or INT", () => {
    expect(stopInputSchema.parse({ id: "p0123456789a", signal: "INT" })).toBeTruthy();
    expect(stopInputSchema.safeParse({ id: "p0123456789a", signal: "HUP" }).success).toBe(false);
    expect(stopInputSchema.safeParse({ id: "../../etc" }).success).toBe(false);
  });

  it("output takes a cursor", () => {
    expect(outputInputSchema.parse({ id: "p0123456789a", lastEventId: "10:0" })).toBeTruthy();
    expect(outputInputSchema.safeParse({ id: "p0123456789a", lastEventId: "x" }).success).toBe(false);
  });
});

describe("audit input", () => {
  it("never keeps env values", () => {
    expect(auditInputOf({ ...ok, env: { API_KEY: "s3cret" } })).toEqual({ ...ok, env: { API_KEY: "[redacted]" } });
  });
});
