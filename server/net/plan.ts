/**
 * Planning: a pure function from (desired, observed) to steps. Each step is one
 * command (an argv, with batch text on stdin) or one file change, plus its undo.
 * Nothing here runs anything; plans are tested as golden text.
 */
import path from "node:path";
import type { Command } from "./runner";
import type { Observed } from "./observe";
import { namespaceOfId } from "./observe";
import { chainRules, emptyParts, normalizeSpec, partsEmpty, restoreText, type IptRule, type RestoreParts, type TableName } from "./iptables";
import { CHAINS, JUMPS, KEPT_CHAINS, OWN_CHAINS, STATIC_CHAINS, idOfSandboxChain, sandboxLines } from "./layout";
import { hostIfName, idOfMark, linkAlias } from "./names";
import { renderSandboxFilterChains, sandboxChainNames, type FilterRuleSpec, type Policy } from "./sandbox-chains";

/** Where `ip netns exec` finds a namespace's own /etc files (resolv.conf). */
export const NETNS_ETC = "/etc/netns";

export type Action =
  | { kind: "run"; command: Command }
  | { kind: "write"; path: string; content: string }
  | { kind: "remove"; path: string };

export interface Step {
  title: string;
  do: Action;
  /** Undoes `do`; run newest first when a later step fails. Best effort, in order. */
  undo: Action[];
  /** True when `do` lands whole or not at all (iptables-restore): a failed atomic step needs no undo. */
  atomic: boolean;
}

/** A sandbox as the kernel should have it (validated, with its stable id). */
export interface SandboxSpec {
  id: string;
  name: string;
  mode: "nat" | "routed" | "isolated";
  subnet: string | null;
  hostAddress: string | null;
  address: string | null;
  egress: string | null;
  dns: string[];
  policy: { egress: Policy; ingress: Policy };
  rules: readonly FilterRuleSpec[];
  /** Adopted namespaces are managed as they are: nslab builds nothing in them. */
  adopted?: boolean;
}

const prefixOf = (subnet: string | null) => (subnet ? Number(subnet.split("/")[1]) : 32);
const wired = (s: SandboxSpec) => s.mode !== "isolated" && !s.adopted && !!s.hostAddress && !!s.address;

export const resolvConfPath = (name: string) => path.join(NETNS_ETC, name, "resolv.conf");
export const resolvConf = (dns: string[]) => `# written by nslab\n${dns.map((d) => `nameserver ${d}`).join("\n")}\n`;

const ipBatch = (lines: string[], force = false): Command => ({
  argv: force ? ["ip", "-force", "-batch", "-"] : ["ip", "-batch", "-"],
  input: `${lines.join("\n")}\n`,
});
const nsBatch = (name: string, lines: string[]): Command => ({
  argv: ["ip", "-n", name, "-batch", "-"],
  input: `${lines.join("\n")}\n`,
});
const restore = (text: string): Command => ({ argv: ["iptables-restore", "--noflush", "--wait"], input: text });
const run = (command: Command): Action => ({ kind: "run", command });

/** Host-side lines that build a sandbox's namespace and the host end of its veth. */
function hostCreateLines(s: SandboxSpec, withNetns: boolean): string[] {
  const lines = withNetns ? [`netns add ${s.name}`] : [];
  if (wired(s)) {
    const ifname = hostIfName(s.id);
    lines.push(
      `link add ${ifname} type veth peer name eth0 netns ${s.name}`,
      `link set dev ${ifname} alias ${linkAlias(s.id)}`,
      `addr add ${s.hostAddress}/${prefixOf(s.subnet)} dev ${ifname}`,
      `link set dev ${ifname} up`,
    );
  }
  return lines;
}

/** In-namespace lines; idempotent (replace), so reconcile can run them again. */
function insideLines(s: SandboxSpec): string[] {
  const lines = ["link set dev lo up"];
  if (wired(s)) {
    lines.push(
      `addr replace ${s.address}/${prefixOf(s.subnet)} dev eth0`,
      "link set dev eth0 up",
      `route replace default via ${s.hostAddress} dev eth0`,
    );
  }
  return lines;
}

/** Filter-table pieces that (re)write one sandbox's chains and shared lines. */
function addSandboxFirewall(s: SandboxSpec, parts: Record<TableName, RestoreParts>): void {
  if (!wired(s)) return;
  const chains = renderSandboxFilterChains({ id: s.id, policy: s.policy, rules: s.rules });
  for (const line of chains) {
    if (line.startsWith(":")) parts.filter.declare.push(line.slice(1).split(" ")[0]!);
    else parts.filter.add.push(line);
  }
  const lines = sandboxLines(s);
  for (const table of ["filter", "nat"] as const) {
    for (const l of lines[table]) parts[table].add.push(`-A ${l.chain} ${l.spec}`);
  }
}

/** Base layout pieces for what the observation lacks: missing chains, static content, jumps. */
function addBaseRepairs(observed: Observed, parts: Record<TableName, RestoreParts>, force: boolean, notes: string[]): void {
  const tables = observed.tables;
  if (!tables) return;
  for (const table of ["filter", "nat"] as const) {
    const t = tables[table];
    for (const chain of KEPT_CHAINS[table]) {
      if (!t.chains.has(chain)) {
        parts[table].declare.push(chain);
        notes.push(`${table} chain ${chain} created`);
      }
    }
    for (const chain of OWN_CHAINS[table]) {
      const wanted = STATIC_CHAINS[chain];
      if (!t.chains.has(chain)) {
        parts[table].declare.push(chain);
        if (!force) notes.push(`${table} chain ${chain} was missing`);
        if (wanted) parts[table].add.push(...wanted.map((spec) => `-A ${chain} ${spec}`));
      } else if (wanted) {
        const have = chainRules(t, chain);
        if (force || have.join("\n") !== wanted.join("\n")) {
          parts[table].declare.push(chain);
          parts[table].add.push(...wanted.map((spec) => `-A ${chain} ${spec}`));
          if (!force) notes.push(`${table} chain ${chain} had other content`);
        }
      }
    }
    for (const jump of JUMPS[table]) {
      const have = chainRules(t, jump.chain);
      if (have[0] === jump.spec && have.filter((r) => r === jump.spec).length === 1) continue;
      for (const r of have.filter((r) => r === jump.spec)) parts[table].remove.push({ chain: jump.chain, spec: r });
      parts[table].add.push(`-I ${jump.chain} 1 ${jump.spec}`);
      notes.push(`jump ${jump.chain} → ${jump.spec.split(" -j ")[1] ?? jump.spec.slice(3)} asserted first`);
    }
  }
}

/**
 * The restore step(s) for the pieces. Each table is its own transaction (COMMIT).
 *
 * `combine: true` puts both tables in ONE `iptables-restore --noflush --wait` (one
 * process). The nat section can then be refused after the filter one landed, so the
 * step is not atomic and apply runs its own undo too: safe only when the undo DELETES
 * what the step added (a `-D` of a line that is not there makes that undo's restore
 * refuse as a whole, changing nothing). Plans whose undo ADDS lines back (deletions)
 * use one atomic restore per table instead.
 */
function restoreSteps(
  title: string,
  parts: Record<TableName, RestoreParts>,
  undo: Record<TableName, RestoreParts> | null,
  combine = false,
): Step[] {
  const tables = (["filter", "nat"] as const).filter((t) => restoreText(t, parts[t]));
  const undoOf = (t: TableName) => {
    const text = undo ? restoreText(t, undo[t]) : null;
    return text ? [run(restore(text))] : [];
  };
  if (tables.length === 0) return [];
  if (combine && tables.length > 1) {
    return [{
      title,
      do: run(restore(tables.map((t) => restoreText(t, parts[t])!).join(""))),
      undo: tables.flatMap(undoOf),
      atomic: false,
    }];
  }
  return tables.map((t) => ({
    title: tables.length > 1 ? `${title} (${t})` : title,
    do: run(restore(restoreText(t, parts[t])!)),
    undo: undoOf(t),
    atomic: true,
  }));
}

const newParts = (): Record<TableName, RestoreParts> => ({ filter: emptyParts(), nat: emptyParts() });

/** The undo of a sandbox's freshly added firewall: delete its lines, then its chains. */
function sandboxFirewallUndo(s: SandboxSpec, undo: Record<TableName, RestoreParts>): void {
  if (!wired(s)) return;
  const lines = sandboxLines(s);
  for (const table of ["filter", "nat"] as const) undo[table].remove.push(...lines[table]);
  const chains = sandboxChainNames({ id: s.id, rules: s.rules });
  undo.filter.flush.push(...chains);
  undo.filter.drop.push(...chains);
}

/**
 * Creating sandboxes that do not exist yet: one `ip -batch` on the host, one
 * `ip -n NAME -batch` per sandbox, resolv.conf files, one restore per table.
 */
export function planCreate(specs: readonly SandboxSpec[], observed: Observed): Step[] {
  const steps: Step[] = [];
  if (specs.length === 0) return steps;
  if (observed.ipForward === false && specs.some(wired)) {
    steps.push({
      title: "enable IPv4 forwarding",
      do: run({ argv: ["sysctl", "-w", "net.ipv4.ip_forward=1"] }),
      undo: [],
      atomic: true,
    });
  }
  const hostLines = specs.flatMap((s) => hostCreateLines(s, true));
  const hostUndo = specs.flatMap((s) => [...(wired(s) ? [`link del dev ${hostIfName(s.id)}`] : []), `netns del ${s.name}`]);
  steps.push({
    title: `host: ${specs.length} namespace(s) and veth(s)`,
    do: run(ipBatch(hostLines)),
    undo: [run(ipBatch(hostUndo, true))],
    atomic: false,
  });
  for (const s of specs) {
    steps.push({ title: `inside ${s.name}: addresses, route, lo`, do: run(nsBatch(s.name, insideLines(s))), undo: [], atomic: false });
  }
  for (const s of specs) {
    if (s.dns.length === 0) continue;
    const file = resolvConfPath(s.name);
    steps.push({ title: `resolv.conf of ${s.name}`, do: { kind: "write", path: file, content: resolvConf(s.dns) }, undo: [{ kind: "remove", path: file }], atomic: true });
  }
  const parts = newParts();
  const undo = newParts();
  addBaseRepairs(observed, parts, false, []);
  for (const s of specs) {
    addSandboxFirewall(s, parts);
    sandboxFirewallUndo(s, undo);
  }
  // The undo only deletes what this adds: one process for both tables is safe.
  steps.push(...restoreSteps("firewall", parts, undo, true));
  return steps;
}

/** Every rule in nslab's chains marked with `id` (in shared chains, and the sandbox's own). */
function markedRules(observed: Observed, table: TableName, id: string): IptRule[] {
  const t = observed.tables?.[table];
  if (!t) return [];
  return t.rules.filter((r) => r.chain.startsWith("NSLAB-") && idOfSandboxChain(r.chain) === null && idOfMark(r.spec) === id);
}

/** A sandbox's own chains present in the observation: its two heads and any chunk chain. */
function ownChainsOf(observed: Observed, id: string): string[] {
  const t = observed.tables?.filter;
  if (!t) return [];
  return [...t.chains.keys()].filter((c) => idOfSandboxChain(c) === id);
}

/** Pieces that remove what the observation shows of a sandbox's firewall; `undo` re-adds it as it was. */
function removeSandboxFirewall(id: string, observed: Observed, parts: Record<TableName, RestoreParts>, undo?: Record<TableName, RestoreParts>): void {
  for (const table of ["filter", "nat"] as const) {
    const rules = markedRules(observed, table, id);
    parts[table].remove.push(...rules);
    undo?.[table].add.push(...rules.map((r) => `-A ${r.chain} ${r.spec}`));
  }
  for (const chain of ownChainsOf(observed, id)) {
    parts.filter.flush.push(chain);
    parts.filter.drop.push(chain);
    if (undo) {
      undo.filter.declare.push(chain);
      // Chain content first (declared above), then the shared lines that jump to it.
      undo.filter.add.unshift(...chainRules(observed.tables!.filter, chain).map((spec) => `-A ${chain} ${spec}`));
    }
  }
}

/** The host link of sandbox `id`, if observed (found by its alias, then by name). */
function hostLinkOf(observed: Observed, id: string) {
  return observed.links.find((l) => l.alias === linkAlias(id)) ?? observed.links.find((l) => l.name === hostIfName(id));
}

/**
 * Deleting sandboxes: whatever of each is on the host (rules and chains in one restore
 * per table, then the host link and the namespace in one `ip -batch`, then the DNS
 * file). What is already gone is skipped, so deleting twice succeeds.
 */
export function planDelete(specs: readonly SandboxSpec[], observed: Observed): Step[] {
  const steps: Step[] = [];
  const parts = newParts();
  const undo = newParts();
  for (const s of specs) removeSandboxFirewall(s.id, observed, parts, undo);
  steps.push(...restoreSteps("firewall", parts, undo));
  const hostLines: string[] = [];
  const present: SandboxSpec[] = [];
  for (const s of specs) {
    const link = hostLinkOf(observed, s.id);
    const hasNs = observed.namespaces.some((n) => n.name === s.name);
    if (link) hostLines.push(`link del dev ${link.name}`);
    if (hasNs) hostLines.push(`netns del ${s.name}`);
    if (hasNs) present.push(s);
  }
  steps.push(...namespaceRemovalSteps(specs, present, hostLines));
  return steps;
}

/** A rewrite of one sandbox's own filter chains (after a policy or rule change). */
export function planSandboxChains(s: SandboxSpec, observed: Observed): Step[] {
  if (!wired(s)) return [];
  const parts = newParts();
  const undo = newParts();
  for (const line of renderSandboxFilterChains({ id: s.id, policy: s.policy, rules: s.rules })) {
    if (line.startsWith(":")) parts.filter.declare.push(line.slice(1).split(" ")[0]!);
    else parts.filter.add.push(line);
  }
  const t = observed.tables?.filter;
  for (const chain of ownChainsOf(observed, s.id)) {
    undo.filter.declare.push(chain);
    undo.filter.add.push(...chainRules(t!, chain).map((spec) => `-A ${chain} ${spec}`));
  }
  return restoreSteps(`chains of ${s.name}`, parts, undo);
}

/** Chains of sandbox `s` in the observation that its rendering does not have (chunks left over). */
function extraChainsOf(s: SandboxSpec, observed: Observed): string[] {
  const wanted = new Set(sandboxChainNames({ id: s.id, rules: s.rules }));
  return ownChainsOf(observed, s.id).filter((c) => !wanted.has(c));
}

/** What reconcile found and will do, per sandbox and for objects nobody wants. */
export interface ReconcilePlan {
  steps: Step[];
  repaired: { sandbox: string; what: string }[];
  removed: { object: string; what: string }[];
  /** Problems found per sandbox name (empty list: in order). */
  drift: Map<string, string[]>;
  /** Base-layout repairs (chains, jumps). */
  base: string[];
  /** What was done to NSLAB-PORTS (rewritten from the store when it differed). */
  ports: string[];
}

/** A sandbox's problems as the observation shows them (empty: the kernel matches the store). */
export function diagnose(s: SandboxSpec, observed: Observed): string[] {
  const problems: string[] = [];
  if (!observed.namespaces.some((n) => n.name === s.name)) return ["namespace missing"];
  if (!wired(s)) return problems;
  const link = hostLinkOf(observed, s.id);
  if (!link) return ["veth missing"];
  if (link.alias !== linkAlias(s.id)) problems.push("veth alias missing");
  if (!link.up) problems.push("veth down");
  const prefix = prefixOf(s.subnet);
  if (!link.addresses.some((a) => a.address === s.hostAddress && a.prefix === prefix)) problems.push("gateway address missing");
  if (namespaceOfId(observed, link.peerNetnsId) !== s.name) problems.push("veth not joined to the namespace");
  const tables = observed.tables;
  if (tables) {
    const lines = sandboxLines(s);
    for (const table of ["filter", "nat"] as const) {
      for (const l of lines[table]) {
        if (!chainRules(tables[table], l.chain).includes(normalizeSpec(l.spec))) problems.push(`${table} ${l.chain} rule missing`);
      }
    }
    const rendered = renderSandboxFilterChains({ id: s.id, policy: s.policy, rules: s.rules });
    const chains = sandboxChainNames({ id: s.id, rules: s.rules });
    // Every chain: the two heads and their chunk chains (a rule in another chunk counts).
    for (const chain of chains) {
      if (!tables.filter.chains.has(chain)) {
        problems.push(`chain ${chain} missing`);
        continue;
      }
      // The whole chain, line by line (rules reordered or edited in the middle count too).
      const want = rendered.filter((l) => l.startsWith(`-A ${chain} `)).map((l) => normalizeSpec(l.slice(4 + chain.length)));
      const have = chainRules(tables.filter, chain);
      if (have.length !== want.length || have.some((line, k) => line !== want[k])) problems.push(`chain ${chain} differs`);
    }
    for (const chain of extraChainsOf(s, observed)) problems.push(`chain ${chain} not in the store`);
  }
  return problems;
}

/**
 * Reconcile: make the host match the store for what nslab owns. `desired` are the
 * sandboxes the store wants (including ones a crash left half-built: `finish`);
 * `keep` are ids in flight that must be left alone; everything else marked nslab's is
 * removed. `force` rewrites the fixed base chains even when they look right (at start).
 */
export function planReconcile(
  desired: readonly SandboxSpec[],
  observed: Observed,
  options: {
    keep?: ReadonlySet<string>;
    finish?: ReadonlySet<string>;
    force?: boolean;
    keepNames?: ReadonlySet<string>;
    /**
     * The `-A NSLAB-PORTS ...` lines the store wants (every published port); when given
     * and the kernel's chain differs, it is rewritten whole. Null/absent: left alone.
     */
    ports?: readonly string[] | null;
  } = {},
): ReconcilePlan {
  const keep = options.keep ?? new Set<string>();
  const finish = options.finish ?? new Set<string>();
  const result: ReconcilePlan = { steps: [], repaired: [], removed: [], drift: new Map(), base: [], ports: [] };
  const parts = newParts();
  const hostLines: string[] = [];
  const insides: SandboxSpec[] = [];
  const dnsWrites: SandboxSpec[] = [];
  const wantedIds = new Set([...desired.map((s) => s.id), ...keep]);
  const wantedNames = new Set([...desired.map((s) => s.name), ...(options.keepNames ?? [])]);

  if (observed.ipForward === false && (options.force || desired.some(wired))) {
    result.steps.push({ title: "enable IPv4 forwarding", do: run({ argv: ["sysctl", "-w", "net.ipv4.ip_forward=1"] }), undo: [], atomic: true });
    result.base.push("ip_forward enabled");
  }
  addBaseRepairs(observed, parts, options.force ?? false, result.base);

  // Published ports: NSLAB-PORTS rewritten whole from the store when it differs (which
  // also drops lines of sandboxes the store does not have: no -D for those below).
  let portsRewritten = false;
  if (options.ports && observed.tables) {
    const want = options.ports.map((l) => normalizeSpec(l.replace(/^-A \S+ /, "")));
    const have = chainRules(observed.tables.nat, CHAINS.PORTS);
    if (have.length !== want.length || have.some((line, k) => line !== want[k])) {
      parts.nat.declare.push(CHAINS.PORTS);
      parts.nat.add.push(...options.ports);
      portsRewritten = true;
      result.ports.push(`nat chain ${CHAINS.PORTS} rewritten from the store: it held ${have.length} line(s), the store has ${want.length} published port(s)`);
    }
  }

  for (const s of desired) {
    const problems = diagnose(s, observed);
    if (problems.length) result.drift.set(s.name, problems);
    if (s.adopted) continue; // managed as it is: only reported
    const finishing = finish.has(s.id);
    if (!problems.length && !finishing) continue;
    const nsMissing = problems.includes("namespace missing");
    const vethMissing = problems.includes("veth missing");
    const link = hostLinkOf(observed, s.id);
    if (nsMissing) {
      if (link) hostLines.push(`link del dev ${link.name}`);
      hostLines.push(...hostCreateLines(s, true));
    } else if (vethMissing) {
      hostLines.push(...hostCreateLines(s, false));
    } else if (wired(s) && link && problems.some((p) => p.startsWith("veth") || p.startsWith("gateway"))) {
      const ifname = link.name;
      hostLines.push(
        `link set dev ${ifname} alias ${linkAlias(s.id)}`,
        `addr replace ${s.hostAddress}/${prefixOf(s.subnet)} dev ${ifname}`,
        `link set dev ${ifname} up`,
      );
    }
    if (nsMissing || vethMissing || finishing || problems.length) insides.push(s);
    if (s.dns.length && (nsMissing || finishing)) dnsWrites.push(s);
    const fwProblem = nsMissing || vethMissing || problems.some((p) => p.includes("rule") || p.includes("chain"));
    if (wired(s) && (fwProblem || finishing)) {
      // Rewrite the sandbox's firewall whole: remove what is there, add it again.
      const present = newParts();
      removeSandboxFirewall(s.id, observed, present);
      for (const table of ["filter", "nat"] as const) {
        // Its own chains are declared (flushed) again rather than dropped.
        parts[table].remove.push(...present[table].remove.filter((r) => r.chain !== CHAINS.PORTS));
      }
      // Chunk chains the store's layout does not have are flushed and removed.
      const extra = extraChainsOf(s, observed);
      parts.filter.flush.push(...extra);
      parts.filter.drop.push(...extra);
      addSandboxFirewall(s, parts);
    }
    result.repaired.push({ sandbox: s.name, what: finishing && !problems.length ? "finished creation" : problems.join(", ") || "finished creation" });
  }

  // Objects marked nslab's that the store does not want.
  for (const link of observed.links) {
    const id = link.alias ? idOfMark(link.alias) : null;
    if (!id || wantedIds.has(id)) continue;
    hostLines.push(`link del dev ${link.name}`);
    result.removed.push({ object: `link ${link.name}`, what: `veth of a sandbox (${id}) the store does not have` });
    const ns = namespaceOfId(observed, link.peerNetnsId);
    if (ns && !wantedNames.has(ns)) {
      hostLines.push(`netns del ${ns}`);
      result.removed.push({ object: `namespace ${ns}`, what: `namespace of a sandbox (${id}) the store does not have` });
    }
  }
  for (const table of ["filter", "nat"] as const) {
    const t = observed.tables?.[table];
    if (!t) continue;
    for (const r of t.rules) {
      if (!r.chain.startsWith("NSLAB-") || idOfSandboxChain(r.chain)) continue;
      const id = idOfMark(r.spec);
      if (!id || wantedIds.has(id)) continue;
      if (!(portsRewritten && table === "nat" && r.chain === CHAINS.PORTS)) parts[table].remove.push(r);
      result.removed.push({ object: `${table} ${r.chain} rule`, what: `rule of a sandbox (${id}) the store does not have` });
    }
    if (table === "filter") {
      for (const chain of t.chains.keys()) {
        const id = idOfSandboxChain(chain);
        if (!id || wantedIds.has(id)) continue;
        parts.filter.flush.push(chain);
        parts.filter.drop.push(chain);
        result.removed.push({ object: `chain ${chain}`, what: `chain of a sandbox (${id}) the store does not have` });
      }
    }
  }

  if (hostLines.length) {
    result.steps.push({ title: "host: repair namespaces and veths", do: run(ipBatch(hostLines, true)), undo: [], atomic: false });
  }
  for (const s of insides) {
    result.steps.push({ title: `inside ${s.name}: addresses, route, lo`, do: run(nsBatch(s.name, insideLines(s))), undo: [], atomic: false });
  }
  for (const s of dnsWrites) {
    result.steps.push({ title: `resolv.conf of ${s.name}`, do: { kind: "write", path: resolvConfPath(s.name), content: resolvConf(s.dns) }, undo: [], atomic: true });
  }
  // Remove duplicates a chain could get declared twice by (base + sandbox rewrite).
  for (const table of ["filter", "nat"] as const) parts[table].declare = [...new Set(parts[table].declare)];
  if (!partsEmpty(parts.filter) || !partsEmpty(parts.nat)) result.steps.push(...restoreSteps("firewall repair", parts, null));
  return result;
}

/**
 * Deleting without reading the firewall first: the sandboxes' lines are rendered from
 * the store, as create wrote them. Fast (one restore, one `ip -batch`), and it fails
 * as a whole when the host differs (a line already gone): the caller then falls back to
 * `planDelete` on a full observation. `portsNat` rewrites NSLAB-PORTS without the
 * sandboxes' published ports (`without`) and back (`all`) on undo; null when none.
 */
export function planDeleteFast(
  specs: readonly SandboxSpec[],
  observed: Pick<Observed, "namespaces">,
  portsNat: { without: string[]; all: string[] } | null = null,
): Step[] {
  const steps: Step[] = [];
  const parts = newParts();
  const undo = newParts();
  for (const s of specs) {
    if (!wired(s)) continue;
    const lines = sandboxLines(s);
    for (const table of ["filter", "nat"] as const) parts[table].remove.push(...lines[table]);
    const chains = sandboxChainNames({ id: s.id, rules: s.rules });
    parts.filter.flush.push(...chains);
    parts.filter.drop.push(...chains);
    addSandboxFirewall(s, undo);
  }
  if (portsNat) {
    parts.nat.declare.push(CHAINS.PORTS);
    parts.nat.add.push(...portsNat.without.filter((l) => !l.startsWith(":")));
    undo.nat.declare.push(CHAINS.PORTS);
    undo.nat.add.push(...portsNat.all.filter((l) => !l.startsWith(":")));
  }
  steps.push(...restoreSteps("firewall", parts, undo));
  const present = specs.filter((s) => observed.namespaces.some((n) => n.name === s.name));
  const hostLines = specs.flatMap((s) => [...(wired(s) ? [`link del dev ${hostIfName(s.id)}`] : []), ...(present.includes(s) ? [`netns del ${s.name}`] : [])]);
  steps.push(...namespaceRemovalSteps(specs, present, hostLines));
  return steps;
}

/**
 * The last steps of every delete plan: one host batch that removes the veths and
 * namespaces (its undo recreates them and their inside settings), then each sandbox's
 * resolv.conf (its undo writes it back).
 */
function namespaceRemovalSteps(specs: readonly SandboxSpec[], present: readonly SandboxSpec[], hostLines: string[]): Step[] {
  const steps: Step[] = [];
  if (hostLines.length) {
    const redo = present.flatMap((s) => hostCreateLines(s, true));
    steps.push({
      title: `host: remove ${present.length} namespace(s)`,
      do: run(ipBatch(hostLines)),
      undo: [
        ...(redo.length ? [run(ipBatch(redo, true))] : []),
        ...present.filter((s) => !s.adopted).map((s) => run(nsBatch(s.name, insideLines(s)))),
      ],
      atomic: false,
    });
  }
  for (const s of specs) {
    if (s.adopted) continue;
    const file = resolvConfPath(s.name);
    steps.push({
      title: `remove resolv.conf of ${s.name}`,
      do: { kind: "remove", path: file },
      undo: s.dns.length ? [{ kind: "write", path: file, content: resolvConf(s.dns) }] : [],
      atomic: true,
    });
  }
  return steps;
}

/** The steps as readable text (golden tests, logs). */
export function renderPlan(steps: readonly Step[]): string {
  const action = (a: Action) => {
    if (a.kind === "write") return `write ${a.path}\n${indent(a.content)}`;
    if (a.kind === "remove") return `remove ${a.path}`;
    return `${a.command.argv.join(" ")}${a.command.input ? `\n${indent(a.command.input)}` : ""}`;
  };
  return steps
    .map((s, k) => {
      const undo = s.undo.length ? s.undo.map((u) => `  undo: ${action(u)}`).join("\n") : "  undo: (none)";
      return `#${k} ${s.title}${s.atomic ? " [atomic]" : ""}\n  do: ${action(s.do)}\n${undo}`;
    })
    .join("\n");
}

const indent = (text: string) =>
  text
    .trimEnd()
    .split("\n")
    .map((l) => `      | ${l}`)
    .join("\n");
