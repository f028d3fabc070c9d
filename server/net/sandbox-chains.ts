import { egressChain, ingressChain, ruleComment } from "./names";

export type Policy = "accept" | "drop";

/** What a sandbox's two filter chains are rendered from. */
export interface SandboxFilterSpec {
  id: string;
  policy: { egress: Policy; ingress: Policy };
  /** Ordered filter rules (both directions in one list; each chain keeps its own order). */
  rules: readonly FilterRuleSpec[];
}

/** One filter rule as the renderer needs it (already validated by server/net/rules-input.ts). */
export interface FilterRuleSpec {
  id: string;
  direction: "egress" | "ingress";
  action: "accept" | "drop" | "reject";
  protocol: "any" | "tcp" | "udp" | "icmp";
  /** Normalized IPv4 CIDR with its prefix (`10.0.0.0/8`, `1.2.3.4/32`) or null for any. */
  peer: string | null;
  /** "80" or "8000-8080" (tcp/udp only) or null. */
  ports: string | null;
}

// Everything rendered here goes into an iptables-restore text, one rule per line: a value
// with a newline, a quote or a space would split or change a command. The schemas refuse
// such input long before; these checks make the renderer refuse it too (defence in depth).
const SAFE_ID = /^[a-z][0-9a-z]{9}$/;
const SAFE_PEER = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;
const SAFE_PORTS = /^\d{1,5}(-\d{1,5})?$/;

function assertSafe(rule: FilterRuleSpec): void {
  const bad =
    !SAFE_ID.test(rule.id) ||
    !["egress", "ingress"].includes(rule.direction) ||
    !["accept", "drop", "reject"].includes(rule.action) ||
    !["any", "tcp", "udp", "icmp"].includes(rule.protocol) ||
    (rule.peer !== null && !SAFE_PEER.test(rule.peer)) ||
    (rule.ports !== null && (!SAFE_PORTS.test(rule.ports) || (rule.protocol !== "tcp" && rule.protocol !== "udp")));
  if (bad) throw new TypeError(`refusing to render an unvalidated rule: ${JSON.stringify(rule)}`);
}

/**
 * The comment match carrying nslab's mark, quoted the way `iptables-save` prints it. The
 * user's own comment text never goes into the kernel: it stays in the store, so no person's
 * text is ever parsed by iptables-restore.
 */
const markMatch = (id: string, what?: string) => `-m comment --comment "${ruleComment(id, what)}"`;

/** The mark of one rule: `nslab:<sandboxId>:rule:<ruleId>` (counters are mapped back by it). */
export const ruleMark = (sandboxId: string, ruleId: string) => ruleComment(sandboxId, `rule:${ruleId}`);
/** The mark of a chain's catch-all policy line. */
export const policyMark = (sandboxId: string) => ruleComment(sandboxId, "policy");

/**
 * The `iptables-restore --noflush` lines (filter table, without `*filter`/`COMMIT`) that
 * (re)write a sandbox's egress and ingress chains whole. Declaring `:CHAIN - [0:0]`
 * flushes just that chain inside the transaction, so the cost does not depend on what
 * else is on the host. See docs/firewall.md for why egress RETURNs and ingress ACCEPTs.
 *
 * Every `-A` line is in the canonical form `iptables-save` prints back (matches in its
 * order, `/32` on single addresses, `-m tcp` before `--dport`, quoted comments,
 * REJECT's `--reject-with`), so the saved chains can be compared with the rendering
 * line for line (`renderedChainRules`).
 */
export function renderSandboxFilterChains(spec: SandboxFilterSpec): string[] {
  if (!SAFE_ID.test(spec.id)) throw new TypeError(`bad sandbox id ${JSON.stringify(spec.id)}`);
  for (const rule of spec.rules) assertSafe(rule);
  const e = egressChain(spec.id);
  const i = ingressChain(spec.id);
  const lines = [`:${e} - [0:0]`, `:${i} - [0:0]`];
  lines.push(`-A ${e} -m conntrack --ctstate RELATED,ESTABLISHED ${markMatch(spec.id)} -j RETURN`);
  for (const rule of spec.rules) {
    if (rule.direction === "egress") lines.push(renderRule(e, spec.id, rule));
  }
  lines.push(`-A ${e} ${markMatch(spec.id, "policy")} -j ${spec.policy.egress === "accept" ? "RETURN" : "DROP"}`);
  lines.push(`-A ${i} -m conntrack --ctstate RELATED,ESTABLISHED ${markMatch(spec.id)} -j ACCEPT`);
  lines.push(`-A ${i} -m conntrack --ctstate DNAT ${markMatch(spec.id, "ports")} -j ACCEPT`);
  for (const rule of spec.rules) {
    if (rule.direction === "ingress") lines.push(renderRule(i, spec.id, rule));
  }
  lines.push(`-A ${i} ${markMatch(spec.id, "policy")} -j ${spec.policy.ingress === "accept" ? "ACCEPT" : "DROP"}`);
  return lines;
}

/** The whole `iptables-restore --noflush` input rewriting one sandbox's filter chains. */
export function renderSandboxFilterRestore(spec: SandboxFilterSpec): string {
  return `*filter\n${renderSandboxFilterChains(spec).join("\n")}\nCOMMIT\n`;
}

/** The `-A` lines of the sandbox's two chains as `iptables-save -t filter` prints them. */
export function renderedChainRules(spec: SandboxFilterSpec): string[] {
  return renderSandboxFilterChains(spec).filter((line) => line.startsWith("-A "));
}

/** Picks the `-A` lines of a sandbox's two chains out of `iptables-save -t filter` output. */
export function savedChainRules(saved: string, sandboxId: string): string[] {
  const e = `-A ${egressChain(sandboxId)} `;
  const i = `-A ${ingressChain(sandboxId)} `;
  const lines = saved.split("\n").map((l) => l.replace(/^\[\d+:\d+\] /, ""));
  // iptables-save lists chain by chain; keep egress first as the renderer does.
  return [...lines.filter((l) => l.startsWith(e)), ...lines.filter((l) => l.startsWith(i))];
}

/**
 * The 1-based rule number of rule `ruleId` in its chain when the chain holds `rules`
 * (the sandbox's whole ordered list): after the conntrack line (egress), or after the
 * conntrack and published-ports lines (ingress).
 */
export function kernelRuleNumber(rules: readonly FilterRuleSpec[], ruleId: string): number {
  const rule = rules.find((r) => r.id === ruleId);
  if (!rule) throw new Error(`no rule ${ruleId}`);
  const index = rules.filter((r) => r.direction === rule.direction).findIndex((r) => r.id === ruleId);
  return index + (rule.direction === "egress" ? 2 : 3);
}

/**
 * Incremental edits of a sandbox's chains for `iptables-restore --noflush` (without
 * `*filter`/`COMMIT`): rewriting a 1,000-rule chain costs the kernel about 30 times more
 * than inserting or deleting one rule, so single-rule changes are sent as edits. Deletes
 * name the rule by its whole spec (its mark is unique): if the kernel does not hold it,
 * the transaction fails and the caller rewrites the chains whole instead.
 */
export function renderRuleInsert(sandboxId: string, after: readonly FilterRuleSpec[], ruleId: string): string {
  const rule = after.find((r) => r.id === ruleId)!;
  assertSafe(rule);
  const line = renderRule(rule.direction === "egress" ? egressChain(sandboxId) : ingressChain(sandboxId), sandboxId, rule);
  return line.replace(/^-A (\S+)/, `-I $1 ${kernelRuleNumber(after, ruleId)}`);
}

/** The `-D CHAIN <spec>` line removing one rule (see renderRuleInsert). */
export function renderRuleDelete(sandboxId: string, rule: FilterRuleSpec): string {
  assertSafe(rule);
  return renderRule(rule.direction === "egress" ? egressChain(sandboxId) : ingressChain(sandboxId), sandboxId, rule).replace(/^-A /, "-D ");
}

/** One rule's line: `-A CHAIN [-s|-d peer] [-p proto [-m proto --dport P]] mark -j TARGET`. */
function renderRule(chain: string, sandboxId: string, rule: FilterRuleSpec): string {
  let out = `-A ${chain}`;
  // The peer is the other side: the destination of egress traffic, the source of ingress.
  if (rule.peer) out += rule.direction === "egress" ? ` -d ${rule.peer}` : ` -s ${rule.peer}`;
  if (rule.protocol !== "any") out += ` -p ${rule.protocol}`;
  if (rule.ports) out += ` -m ${rule.protocol} --dport ${rule.ports.replace("-", ":")}`;
  out += ` ${markMatch(sandboxId, `rule:${rule.id}`)}`;
  return `${out} -j ${targetOf(rule)}`;
}

/**
 * accept passes (RETURN on egress, so the receiver's ingress still judges; ACCEPT on
 * ingress), drop drops, reject answers at once: a TCP reset for tcp, ICMP port
 * unreachable otherwise (the kernel's default, written out as iptables-save prints it).
 */
function targetOf(rule: FilterRuleSpec): string {
  if (rule.action === "accept") return rule.direction === "egress" ? "RETURN" : "ACCEPT";
  if (rule.action === "drop") return "DROP";
  return rule.protocol === "tcp" ? "REJECT --reject-with tcp-reset" : "REJECT --reject-with icmp-port-unreachable";
}
