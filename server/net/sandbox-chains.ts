import { egressChain, ingressChain, ruleComment } from "./names";

export type Policy = "accept" | "drop";

/** What a sandbox's two filter chains are rendered from. */
export interface SandboxFilterSpec {
  id: string;
  policy: { egress: Policy; ingress: Policy };
  /** Ordered filter rules (issue 4 fills these in); empty for a new sandbox. */
  rules: readonly FilterRuleSpec[];
}

/** One filter rule as the renderer needs it (already validated). */
export interface FilterRuleSpec {
  id: string;
  direction: "egress" | "ingress";
  action: "accept" | "drop" | "reject";
  protocol: "any" | "tcp" | "udp" | "icmp";
  peer: string | null;
  ports: string | null;
}

/**
 * The `iptables-restore --noflush` lines (filter table, without `*filter`/`COMMIT`) that
 * (re)write a sandbox's egress and ingress chains whole. Declaring `:CHAIN - [0:0]`
 * flushes just that chain inside the transaction, so the cost does not depend on what
 * else is on the host. See docs/firewall.md for why egress RETURNs and ingress ACCEPTs.
 */
export function renderSandboxFilterChains(spec: SandboxFilterSpec): string[] {
  const e = egressChain(spec.id);
  const i = ingressChain(spec.id);
  const mark = (what?: string) => `-m comment --comment ${ruleComment(spec.id, what)}`;
  const lines = [`:${e} - [0:0]`, `:${i} - [0:0]`];
  lines.push(`-A ${e} -m conntrack --ctstate RELATED,ESTABLISHED ${mark()} -j RETURN`);
  for (const rule of spec.rules.filter((r) => r.direction === "egress")) {
    lines.push(`-A ${e}${matchOf(rule, "egress")} ${mark(`rule:${rule.id}`)} -j ${targetOf(rule.action, "egress")}`);
  }
  lines.push(`-A ${e} ${mark("policy")} -j ${spec.policy.egress === "accept" ? "RETURN" : "DROP"}`);
  lines.push(`-A ${i} -m conntrack --ctstate RELATED,ESTABLISHED ${mark()} -j ACCEPT`);
  lines.push(`-A ${i} -m conntrack --ctstate DNAT ${mark("ports")} -j ACCEPT`);
  for (const rule of spec.rules.filter((r) => r.direction === "ingress")) {
    lines.push(`-A ${i}${matchOf(rule, "ingress")} ${mark(`rule:${rule.id}`)} -j ${targetOf(rule.action, "ingress")}`);
  }
  lines.push(`-A ${i} ${mark("policy")} -j ${spec.policy.ingress === "accept" ? "ACCEPT" : "DROP"}`);
  return lines;
}

/** The match part of a rule: protocol, peer (source for ingress, destination for egress), ports. */
function matchOf(rule: FilterRuleSpec, direction: "egress" | "ingress"): string {
  let out = "";
  if (rule.protocol !== "any") out += ` -p ${rule.protocol}`;
  if (rule.peer) out += direction === "egress" ? ` -d ${rule.peer}` : ` -s ${rule.peer}`;
  if (rule.ports) out += ` --dport ${rule.ports.replace("-", ":")}`;
  return out;
}

/** accept passes (RETURN on egress, so the receiver's ingress still judges), drop, reject. */
function targetOf(action: FilterRuleSpec["action"], direction: "egress" | "ingress"): string {
  if (action === "accept") return direction === "egress" ? "RETURN" : "ACCEPT";
  if (action === "drop") return "DROP";
  return "REJECT"; // refined per protocol by the rules area (tcp-reset for tcp)
}
