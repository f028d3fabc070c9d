import { z } from "zod";
import { Address4 } from "ip-address";

/**
 * The strict input schemas of filter rules and published ports (API.md). Every value
 * that ends up in an `iptables-restore` text passes one of these first; anything outside
 * them is refused with INPUT_INVALID naming the field, before anything runs. Values are
 * normalized to the form `iptables-save` prints, so rendered text equals saved text.
 */

/** Sandbox names as API.md defines them (the namespace name). */
export const sandboxNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,30}$/, "must start with a-z and hold only a-z, 0-9 and - (at most 31)");

/** Rule ids nslab generates: `r` + 9 of [0-9a-z]. */
export const ruleIdSchema = z.string().regex(/^r[0-9a-z]{9}$/, "must be a rule id like r0a1b2c3d4");
/** Published port ids nslab generates: `p` + 9 of [0-9a-z]. */
export const portIdSchema = z.string().regex(/^p[0-9a-z]{9}$/, "must be a port id like p0a1b2c3d4");

export const DIRECTIONS = ["egress", "ingress"] as const;
export const ACTIONS = ["accept", "drop", "reject"] as const;
export const PROTOCOLS = ["any", "tcp", "udp", "icmp"] as const;
export type Direction = (typeof DIRECTIONS)[number];
export type Action = (typeof ACTIONS)[number];
export type Protocol = (typeof PROTOCOLS)[number];

/** Most rules one sandbox may hold (a guard against runaway scripts, not a kernel limit). */
export const MAX_RULES = 5000;
export const COMMENT_MAX = 200;

const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4_CIDR = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}(?:/(?:3[0-2]|[12]?\\d))?$`);

/**
 * The network form of an IPv4 address or CIDR (`10.1.2.3/8` → `10.0.0.0/8`, `1.2.3.4` →
 * `1.2.3.4/32`), the way iptables keeps it; null for "any" (`0.0.0.0/0`).
 */
export function normalizeCidr(value: string): string | null {
  const withPrefix = value.includes("/") ? value : `${value}/32`;
  const address = new Address4(withPrefix);
  const prefix = address.subnetMask;
  if (prefix === 0) return null;
  return `${address.startAddress().correctForm()}/${prefix}`;
}

/** peer: an IPv4 CIDR (or one address), validated with ip-address; normalized. */
export const peerSchema = z
  .string()
  .max(18, "must be an IPv4 CIDR like 10.0.0.0/8")
  .refine((v) => IPV4_CIDR.test(v) && Address4.isValid(v.includes("/") ? v : `${v}/32`), {
    message: "must be an IPv4 address or CIDR like 10.0.0.0/8 (prefix 0-32)",
  })
  .transform((v) => normalizeCidr(v));

/** A TCP/UDP port number 1..65535. */
export const portNumberSchema = z
  .number({ message: "must be a port number 1-65535" })
  .int("must be a whole number")
  .min(1, "must be 1-65535")
  .max(65535, "must be 1-65535");

/** ports: "80" or "8000-8080" (1..65535, low <= high); "80-80" becomes "80". */
export const portsSchema = z
  .string()
  .max(11, 'must be a port like "80" or a range like "8000-8080"')
  .superRefine((value, ctx) => {
    const m = /^([1-9]\d{0,4})(?:-([1-9]\d{0,4}))?$/.exec(value);
    if (!m) {
      ctx.addIssue({ code: "custom", message: 'must be a port like "80" or a range like "8000-8080" (1-65535)' });
      return;
    }
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo > 65535 || hi > 65535) ctx.addIssue({ code: "custom", message: "ports must be 1-65535" });
    else if (lo > hi) ctx.addIssue({ code: "custom", message: `the range's low end ${lo} is above its high end ${hi}` });
  })
  .transform((value) => {
    const [lo, hi] = value.split("-");
    return hi === undefined || hi === lo ? lo! : `${lo}-${hi}`;
  });

// C0 and C1 controls, DEL, and the Unicode line/paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** comment: free text for people, at most 200 characters, one line, no control characters. */
export const commentSchema = z
  .string()
  .max(COMMENT_MAX, `must be at most ${COMMENT_MAX} characters`)
  .refine((v) => !CONTROL.test(v), { message: "must be one line without control characters" });

/** The fields of one rule (without sandbox/id/position), with the cross-field checks. */
const ruleFields = {
  direction: z.enum(DIRECTIONS),
  action: z.enum(ACTIONS),
  protocol: z.enum(PROTOCOLS).optional(),
  peer: peerSchema.nullish(),
  ports: portsSchema.nullish(),
  comment: commentSchema.optional(),
};

/** ports only make sense with tcp or udp: say so on the `ports` field. */
function portsNeedTcpUdp(value: { protocol?: Protocol; ports?: string | null }, ctx: z.RefinementCtx): void {
  if (value.ports != null && value.protocol !== "tcp" && value.protocol !== "udp") {
    ctx.addIssue({ code: "custom", path: ["ports"], message: "ports need protocol tcp or udp" });
  }
}

/** One rule as `rule.replaceAll` takes it. */
export const ruleSpecSchema = z.strictObject(ruleFields).superRefine(portsNeedTcpUdp);

export const positionSchema = z
  .number({ message: "must be a 0-based position" })
  .int("must be a whole number")
  .min(0, "must be 0 or more")
  .max(MAX_RULES, `must be at most ${MAX_RULES}`);

export const ruleAddSchema = z
  .strictObject({ sandbox: sandboxNameSchema, ...ruleFields, position: positionSchema.optional() })
  .superRefine(portsNeedTcpUdp);
/** `counters: false` skips the kernel read (rules, policy and revision from the store only). */
export const ruleListSchema = z.strictObject({ sandbox: sandboxNameSchema, counters: z.boolean().optional() });
export const ruleDeleteSchema = z.strictObject({ sandbox: sandboxNameSchema, id: ruleIdSchema });
export const ruleMoveSchema = z.strictObject({ sandbox: sandboxNameSchema, id: ruleIdSchema, position: positionSchema });
export const ruleReplaceAllSchema = z.strictObject({
  sandbox: sandboxNameSchema,
  revision: z.number({ message: "must be the revision rule.list returned" }).int().min(0),
  rules: z.array(ruleSpecSchema).max(MAX_RULES, `at most ${MAX_RULES} rules`),
});
export const policySchema = z.enum(["accept", "drop"]);
export const setPolicySchema = z.strictObject({
  name: sandboxNameSchema,
  egress: policySchema.optional(),
  ingress: policySchema.optional(),
});

export const portAddSchema = z.strictObject({
  sandbox: sandboxNameSchema,
  protocol: z.enum(["tcp", "udp"]),
  hostPort: portNumberSchema,
  sandboxPort: portNumberSchema,
});
export const portListSchema = z.strictObject({ sandbox: sandboxNameSchema });
export const portDeleteSchema = z.strictObject({ sandbox: sandboxNameSchema, id: portIdSchema });

/** A rule after validation, with defaults filled in. */
export interface RuleSpec {
  direction: Direction;
  action: Action;
  protocol: Protocol;
  peer: string | null;
  ports: string | null;
  comment: string;
}

/** Fills defaults into a parsed rule: protocol any, peer any, no ports, empty comment. */
export function ruleSpecOf(input: z.output<typeof ruleSpecSchema> | z.output<typeof ruleAddSchema>): RuleSpec {
  return {
    direction: input.direction,
    action: input.action,
    protocol: input.protocol ?? "any",
    peer: input.peer ?? null,
    ports: input.ports ?? null,
    comment: input.comment ?? "",
  };
}
