import { describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { zodFieldErrors } from "../errors";
import {
  portAddSchema,
  ruleAddSchema,
  ruleReplaceAllSchema,
  ruleSpecOf,
} from "./rules-input";

const base = { sandbox: "web", direction: "egress", action: "drop" } as const;

/** The field names a bad input is refused for. */
function fieldsOf(schema: { safeParse: (v: unknown) => { success: boolean; error?: ZodError } }, input: unknown): string[] {
  const result = schema.safeParse(input);
  expect(result.success).toBe(false);
  return Object.keys(zodFieldErrors(result.error!));
}

describe("rule input", () => {
  it("accepts good rules and normalizes them to iptables-save's form", () => {
    const r = ruleAddSchema.parse({ ...base, protocol: "tcp", peer: "10.1.2.3/8", ports: "8000-8080", comment: "web ✓ \"quoted\"" });
    expect(r.peer).toBe("10.0.0.0/8");
    expect(r.ports).toBe("8000-8080");
    expect(ruleAddSchema.parse({ ...base, peer: "1.2.3.4" }).peer).toBe("1.2.3.4/32");
    expect(ruleAddSchema.parse({ ...base, peer: "0.0.0.0/0" }).peer).toBeNull();
    expect(ruleAddSchema.parse({ ...base, protocol: "udp", ports: "53-53" }).ports).toBe("53");
    expect(ruleAddSchema.parse({ ...base, protocol: "tcp", ports: "1-65535" }).ports).toBe("1-65535");
    expect(ruleSpecOf(ruleAddSchema.parse(base))).toEqual({ direction: "egress", action: "drop", protocol: "any", peer: null, ports: null, comment: "" });
    expect(ruleAddSchema.parse({ ...base, comment: "x".repeat(200) }).comment).toHaveLength(200);
  });

  it.each([
    [{ protocol: "tcp", ports: "0" }, "ports"],
    [{ protocol: "tcp", ports: "70000" }, "ports"],
    [{ protocol: "tcp", ports: "9-3" }, "ports"],
    [{ protocol: "tcp", ports: "1-2-3" }, "ports"],
    [{ protocol: "tcp", ports: "080" }, "ports"],
    [{ protocol: "tcp", ports: " 80" }, "ports"],
    [{ protocol: "tcp", ports: 80 }, "ports"],
    [{ peer: "10.0.0.0/33" }, "peer"],
    [{ peer: "999.1.1.1/30" }, "peer"],
    [{ peer: "10.0.0.0/8 -j ACCEPT" }, "peer"],
    [{ peer: "010.0.0.1" }, "peer"],
    [{ peer: "::1/128" }, "peer"],
    [{ protocol: "sctp;" }, "protocol"],
    [{ protocol: "icmp", ports: "80" }, "ports"],
    [{ ports: "80" }, "ports"],
    [{ comment: "two\nlines" }, "comment"],
    [{ comment: "a\r-A FORWARD -j ACCEPT" }, "comment"],
    [{ comment: "tab\there" }, "comment"],
    [{ comment: "x".repeat(201) }, "comment"],
    [{ direction: "sideways" }, "direction"],
    [{ action: "ACCEPT" }, "action"],
    [{ position: -1 }, "position"],
    [{ position: 1.5 }, "position"],
    [{ extra: 1 }, "extra"],
  ])("refuses %j naming %s", (change, field) => {
    expect(fieldsOf(ruleAddSchema, { ...base, ...change })).toContain(field);
  });

  it("refuses bad sandbox names as a name field", () => {
    expect(fieldsOf(ruleAddSchema, { ...base, sandbox: "-rf" })).toEqual(["sandbox"]);
    expect(fieldsOf(ruleAddSchema, { ...base, sandbox: "a;reboot" })).toEqual(["sandbox"]);
  });

  it("names the index of a bad rule in a replaceAll list", () => {
    const fields = fieldsOf(ruleReplaceAllSchema, {
      sandbox: "web",
      revision: 0,
      rules: [{ direction: "egress", action: "drop" }, { direction: "egress", action: "drop", protocol: "icmp", ports: "1" }],
    });
    expect(fields).toEqual(["rules.1.ports"]);
  });
});

describe("port input", () => {
  it.each([
    [{ hostPort: 0 }, "hostPort"],
    [{ hostPort: 70000 }, "hostPort"],
    [{ sandboxPort: 0 }, "sandboxPort"],
    [{ hostPort: "80" }, "hostPort"],
    [{ protocol: "icmp" }, "protocol"],
    [{ protocol: "sctp;" }, "protocol"],
  ])("refuses %j naming %s", (change, field) => {
    expect(fieldsOf(portAddSchema, { sandbox: "web", protocol: "tcp", hostPort: 8080, sandboxPort: 80, ...change })).toContain(field);
  });
  it("accepts a good port", () => {
    expect(portAddSchema.parse({ sandbox: "web", protocol: "udp", hostPort: 65535, sandboxPort: 1 })).toBeTruthy();
  });
});
