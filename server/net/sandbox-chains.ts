import { chunkChain, egressChain, ingressChain, ruleComment } from "./names";
import { idOfSandboxChain } from "./layout";

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
  /**
   * The chunk chain holding the rule (0 or absent: the head chain). Non-decreasing along
   * the direction's order (see `canonicalChunks`).
   */
  chunk?: number;
}

/** Rules per chunk chain when the chunks are laid out afresh (`canonicalChunks`). */
export const CHUNK_SIZE = 100;
/** A single edit may let a chunk grow to this; one more rule and the chains are laid out afresh. */
export const CHUNK_MAX = 200;
/** Highest chunk number a valid spec may name (MAX_RULES 5,000 / CHUNK_SIZE, with room). */
const CHUNK_LIMIT = 999;

type Direction = FilterRuleSpec["direction"];
const headOf = (id: string, direction: Direction) => (direction === "egress" ? egressChain(id) : ingressChain(id));
/** Fixed lines before the rules in a head chain: conntrack (egress); conntrack and DNAT (ingress). */
const headLines = (direction: Direction) => (direction === "egress" ? 1 : 2);

/** One chain of a direction: its chunk number, name and rules in order. */
export interface ChunkOf {
  chunk: number;
  chain: string;
  rules: FilterRuleSpec[];
}

/**
 * A direction's chunks in order: always the head (chunk 0), then every chunk number a
 * rule names, ascending. Throws when the chunk numbers go down along the order (that
 * would reorder rules).
 */
export function chunksOf(id: string, rules: readonly FilterRuleSpec[], direction: Direction): ChunkOf[] {
  const head = headOf(id, direction);
  const out: ChunkOf[] = [{ chunk: 0, chain: head, rules: [] }];
  for (const rule of rules) {
    if (rule.direction !== direction) continue;
    const k = rule.chunk ?? 0;
    const last = out[out.length - 1]!;
    if (!Number.isInteger(k) || k < 0 || k > CHUNK_LIMIT || k < last.chunk) {
      throw new TypeError(`refusing to render rule ${rule.id} in chunk ${k} after chunk ${last.chunk}`);
    }
    if (k === last.chunk) last.rules.push(rule);
    else out.push({ chunk: k, chain: chunkChain(head, k), rules: [rule] });
  }
  return out;
}

/** Every chain of a sandbox's rendering: the two heads, then the egress and ingress chunks. */
export function sandboxChainNames(spec: Pick<SandboxFilterSpec, "id" | "rules">): string[] {
  const e = chunksOf(spec.id, spec.rules, "egress");
  const i = chunksOf(spec.id, spec.rules, "ingress");
  return [e[0]!.chain, i[0]!.chain, ...e.slice(1).map((c) => c.chain), ...i.slice(1).map((c) => c.chain)];
}

/**
 * The same rules laid out afresh: each direction's rule j in chunk floor(j / CHUNK_SIZE),
 * so up to 100 rules stay in the head chain alone.
 */
export function canonicalChunks<T extends FilterRuleSpec>(rules: readonly T[]): T[] {
  const seen = { egress: 0, ingress: 0 };
  return rules.map((rule) => {
    const k = Math.floor(seen[rule.direction]++ / CHUNK_SIZE);
    return rule.chunk === k ? rule : { ...rule, chunk: k };
  });
}

/**
 * The chunk a rule inserted at index `dirIndex` among its direction's rules of `before`
 * goes into: the chunk of the rule it is inserted before, or the last rule's chunk when
 * it goes last. Chunk boundaries do not move under single edits.
 */
export function chunkForInsert(before: readonly FilterRuleSpec[], direction: Direction, dirIndex: number): number {
  const own = before.filter((r) => r.direction === direction);
  const next = own[dirIndex] ?? own[own.length - 1];
  return next?.chunk ?? 0;
}

/**
 * True when `after` (the list after a single edit of `before`) may keep its chunks: no
 * chunk holds more than CHUNK_MAX rules and no chunk chain emptied (its chain would
 * linger). Otherwise the caller lays the rules out afresh and rewrites the chains whole.
 */
export function chunksStillFit(id: string, before: readonly FilterRuleSpec[], after: readonly FilterRuleSpec[]): boolean {
  for (const direction of ["egress", "ingress"] as const) {
    const was = chunksOf(id, before, direction);
    const now = chunksOf(id, after, direction);
    if (was.length !== now.length || now.some((c, k) => c.chunk !== was[k]!.chunk || c.rules.length > CHUNK_MAX)) return false;
  }
  return true;
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
    (rule.chunk !== undefined && (!Number.isInteger(rule.chunk) || rule.chunk < 0 || rule.chunk > CHUNK_LIMIT)) ||
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
  const egress = chunksOf(spec.id, spec.rules, "egress");
  const ingress = chunksOf(spec.id, spec.rules, "ingress");
  const lines = sandboxChainNames(spec).map((chain) => `:${chain} - [0:0]`);
  const e = egress[0]!.chain;
  const i = ingress[0]!.chain;
  const fixed = {
    egress: [`-A ${e} -m conntrack --ctstate RELATED,ESTABLISHED ${markMatch(spec.id)} -j RETURN`],
    ingress: [
      `-A ${i} -m conntrack --ctstate RELATED,ESTABLISHED ${markMatch(spec.id)} -j ACCEPT`,
      `-A ${i} -m conntrack --ctstate DNAT ${markMatch(spec.id, "ports")} -j ACCEPT`,
    ],
  };
  const policy = {
    egress: `${markMatch(spec.id, "policy")} -j ${spec.policy.egress === "accept" ? "RETURN" : "DROP"}`,
    ingress: `${markMatch(spec.id, "policy")} -j ${spec.policy.ingress === "accept" ? "ACCEPT" : "DROP"}`,
  };
  for (const [direction, chunks] of [["egress", egress], ["ingress", ingress]] as const) {
    lines.push(...fixed[direction]);
    chunks.forEach((c, k) => {
      for (const rule of c.rules) lines.push(renderRule(c.chain, spec.id, rule));
      // Chunks are chained by goto: a RETURN anywhere returns to the dispatcher
      // (NSLAB-EGRESS), as it does from the head, and the policy closes the last chunk.
      const next = chunks[k + 1];
      lines.push(next ? `-A ${c.chain} ${markMatch(spec.id)} -g ${next.chain}` : `-A ${c.chain} ${policy[direction]}`);
    });
  }
  return lines;
}

/**
 * The whole `iptables-restore --noflush` input rewriting one sandbox's filter chains.
 * `drop` names chunk chains the new layout no longer has: declared (created or flushed,
 * so this never depends on whether they exist) and removed in the same transaction.
 */
export function renderSandboxFilterRestore(spec: SandboxFilterSpec, drop: readonly string[] = []): string {
  const lines = renderSandboxFilterChains(spec);
  const keep = new Set(sandboxChainNames(spec));
  const gone = [...new Set(drop)].filter((chain) => !keep.has(chain) && idOfSandboxChain(chain) === spec.id);
  const declares = lines.filter((l) => l.startsWith(":"));
  const rest = lines.filter((l) => !l.startsWith(":"));
  return `*filter\n${[...declares, ...gone.map((c) => `:${c} - [0:0]`), ...gone.map((c) => `-X ${c}`), ...rest].join("\n")}\nCOMMIT\n`;
}

/** The `-A` lines of the sandbox's two chains as `iptables-save -t filter` prints them. */
export function renderedChainRules(spec: SandboxFilterSpec): string[] {
  return renderSandboxFilterChains(spec).filter((line) => line.startsWith("-A "));
}

/**
 * Picks the `-A` lines of a sandbox's chains (heads and chunks) out of
 * `iptables-save -t filter` output, in the renderer's order: egress head, egress chunks
 * by number, ingress head, ingress chunks (iptables-save lists chain by chain).
 */
export function savedChainRules(saved: string, sandboxId: string): string[] {
  const byChain = new Map<string, string[]>();
  const e = `-A ${egressChain(sandboxId)}`;
  const i = `-A ${ingressChain(sandboxId)}`;
  for (const raw of saved.split("\n")) {
    // Cheap test first: the whole filter table passes through here on every rule.list.
    if (!raw.includes(sandboxId)) continue;
    const line = raw.replace(/^\[\d+:\d+\] /, "");
    if (!line.startsWith(e) && !line.startsWith(i)) continue;
    const chain = /^-A (\S+) /.exec(line)?.[1];
    if (!chain || idOfSandboxChain(chain) !== sandboxId) continue;
    let list = byChain.get(chain);
    if (!list) byChain.set(chain, (list = []));
    list.push(line);
  }
  const key = (chain: string) => {
    const m = /^NSLAB-([EI])-[0-9a-z]{10}(?:-(\d+))?$/.exec(chain)!;
    return (m[1] === "E" ? 0 : 100000) + Number(m[2] ?? 0);
  };
  return [...byChain.keys()].sort((a, b) => key(a) - key(b)).flatMap((chain) => byChain.get(chain)!);
}

/**
 * Where rule `ruleId` sits when the chains hold `rules` (the sandbox's whole ordered
 * list): its chunk chain and 1-based rule number there (after the conntrack line of the
 * egress head, or the conntrack and published-ports lines of the ingress head).
 */
export function kernelRulePlace(sandboxId: string, rules: readonly FilterRuleSpec[], ruleId: string): { chain: string; number: number } {
  const rule = rules.find((r) => r.id === ruleId);
  if (!rule) throw new Error(`no rule ${ruleId}`);
  const c = chunksOf(sandboxId, rules, rule.direction).find((c) => c.chunk === (rule.chunk ?? 0))!;
  const index = c.rules.findIndex((r) => r.id === ruleId);
  return { chain: c.chain, number: index + 1 + (c.chunk === 0 ? headLines(rule.direction) : 0) };
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
  const place = kernelRulePlace(sandboxId, after, ruleId);
  return renderRule(place.chain, sandboxId, rule).replace(/^-A (\S+)/, `-I $1 ${place.number}`);
}

/** The `-D CHAIN <spec>` line removing one rule from its chunk chain (see renderRuleInsert). */
export function renderRuleDelete(sandboxId: string, rule: FilterRuleSpec): string {
  assertSafe(rule);
  return renderRule(chunkChain(headOf(sandboxId, rule.direction), rule.chunk ?? 0), sandboxId, rule).replace(/^-A /, "-D ");
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
