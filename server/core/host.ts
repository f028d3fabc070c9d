/**
 * host.info and topology.get: what the host looks like now, from live kernel state
 * (one batched `ip` read and one `iptables-save`, whatever the number of sandboxes).
 */
import os from "node:os";
import type { App } from "../app";
import { observe, namespaceOfId, type Observed } from "../net/observe";
import { chainRules } from "../net/iptables";
import { CHAINS, JUMPS, markIdOfAlias } from "../net/layout";
import { hostIfName } from "../net/names";
import { ports, sandboxes } from "../store/schema";
import { viewCountsOf, viewOf, type EngineApp, type Mode } from "./sandboxes";

export interface HostInfo {
  uplinks: { name: string; addresses: string[]; default: boolean; up: boolean }[];
  ipForward: boolean | null;
  firewallBackend: string;
  warnings: string[];
}

let backendCache: string | null = null;

/** "iptables-nft" or "iptables-legacy", from `iptables -V` (read once). */
async function firewallBackend(app: Pick<App, "runner">): Promise<string> {
  if (backendCache) return backendCache;
  try {
    const { stdout } = await app.runner.run({ argv: ["iptables", "-V"] });
    const m = /\((nf_tables|legacy)\)/.exec(stdout);
    backendCache = m ? (m[1] === "nf_tables" ? "iptables-nft" : "iptables-legacy") : stdout.trim() || "iptables";
  } catch {
    return "unavailable";
  }
  return backendCache;
}

/** Host interfaces that are not nslab's and not loopback, with an IPv4 address. */
function uplinksOf(observed: Observed): HostInfo["uplinks"] {
  const defaults = new Set(observed.routes.filter((r) => r.dst === "default" && r.dev).map((r) => r.dev!));
  return observed.links
    .filter((l) => l.name !== "lo" && !markIdOfAlias(l.alias) && (defaults.has(l.name) || l.addresses.some((a) => a.family === "inet")))
    .map((l) => ({
      name: l.name,
      addresses: l.addresses.filter((a) => a.family === "inet").map((a) => `${a.address}/${a.prefix}`),
      default: defaults.has(l.name),
      up: l.up,
    }));
}

/** Things on the host that would block or bypass sandboxes' traffic. */
export function hostWarnings(observed: Observed, egresses: string[]): string[] {
  const warnings: string[] = [];
  if (observed.ipForward === false) warnings.push("net.ipv4.ip_forward is 0: sandboxes cannot reach the uplink until reconcile enables it");
  const t = observed.tables;
  if (t) {
    for (const chain of ["FORWARD", "INPUT"] as const) {
      if (t.filter.chains.get(chain) === "DROP") {
        warnings.push(
          `filter ${chain} policy is DROP (set by another tool?): traffic nslab's chains do not decide is dropped` +
            (chain === "FORWARD" ? "; nslab's jump is first, so sandboxes still work while it stays first" : ""),
        );
      }
    }
    for (const table of ["filter", "nat"] as const) {
      for (const jump of JUMPS[table]) {
        const rules = chainRules(t[table], jump.chain);
        if (!rules.includes(jump.spec)) warnings.push(`${table} ${jump.chain} has no jump to nslab's chain (${jump.spec}): reconcile restores it`);
        else if (rules[0] !== jump.spec) {
          warnings.push(`${table} ${jump.chain} has rules before nslab's jump: they decide first and may block sandboxes (reconcile moves the jump back to the top)`);
        }
      }
    }
    if (chainRules(t.filter, CHAINS.USER).length) {
      warnings.push(`${CHAINS.USER} holds hand-written rules: they are evaluated before nslab's own for all forwarded traffic`);
    }
  }
  for (const egress of new Set(egresses)) {
    if (!observed.links.some((l) => l.name === egress)) warnings.push(`egress interface ${egress} of a sandbox is missing on the host`);
  }
  if (!observed.routes.some((r) => r.dst === "default")) warnings.push("the host has no default route: NAT sandboxes cannot reach the outside");
  return warnings;
}

/**
 * Other packet filters that can drop sandboxes' traffic where nslab's rules do not reach:
 * nftables base chains (tables other than iptables-nft's own) on the forward hook with
 * policy drop, and iptables-legacy rules beside the nft backend. Reads only; a tool that
 * is missing is skipped.
 */
export async function otherFilterWarnings(app: Pick<App, "runner">): Promise<string[]> {
  const warnings: string[] = [];
  try {
    const { stdout } = await app.runner.run({ argv: ["nft", "-j", "list", "chains"] });
    const items = (JSON.parse(stdout) as { nftables?: { chain?: { family: string; table: string; name: string; hook?: string; policy?: string } }[] }).nftables ?? [];
    for (const { chain } of items) {
      if (!chain?.hook) continue;
      const iptablesOwn = (chain.family === "ip" || chain.family === "ip6") && ["filter", "nat", "mangle", "raw", "security"].includes(chain.table);
      if (iptablesOwn) continue;
      if ((chain.hook === "forward" || chain.hook === "input") && chain.policy === "drop") {
        warnings.push(`nftables chain ${chain.family} ${chain.table} ${chain.name} (hook ${chain.hook}) has policy drop: it is evaluated besides nslab's iptables rules and may block sandboxes`);
      }
    }
  } catch {
    // nft missing or unreadable: nothing to say
  }
  try {
    const { stdout } = await app.runner.run({ argv: ["iptables-legacy-save"] });
    const rules = stdout.split("\n").filter((l) => l.startsWith("-A "));
    const drops = stdout.split("\n").filter((l) => /^:(FORWARD|INPUT) DROP/.test(l));
    if (rules.length || drops.length) {
      warnings.push(`iptables-legacy holds ${rules.length} rule(s)${drops.length ? " and a DROP policy" : ""} beside the nft backend: packets pass both, and those rules may block sandboxes`);
    }
  } catch {
    // no legacy tool
  }
  return warnings;
}

/** host.info */
export async function hostInfo(app: EngineApp): Promise<HostInfo> {
  const observed = await observe(app.runner);
  const egresses = app.store
    .select({ egress: sandboxes.egress })
    .from(sandboxes)
    .all()
    .map((r) => r.egress)
    .filter((e): e is string => !!e);
  return {
    uplinks: uplinksOf(observed),
    ipForward: observed.ipForward,
    firewallBackend: await firewallBackend(app),
    warnings: [...hostWarnings(observed, egresses), ...(await otherFilterWarnings(app))],
  };
}

export interface TopologyNode {
  id: string;
  kind: "host" | "uplink" | "sandbox" | "foreign";
  label: string;
  status: string;
  /** For sandbox nodes: what drifted or failed. */
  statusDetail?: string;
  addresses: string[];
  /** For sandbox nodes: the mode and owner; extra fields are allowed by API.md. */
  mode?: Mode;
  owner?: string;
  /** For sandbox nodes: the published ports (from the store), by protocol and host port. */
  ports?: TopologyPort[];
}

export interface TopologyPort {
  protocol: "tcp" | "udp";
  hostPort: number;
  sandboxPort: number;
}

export interface TopologyEdge {
  id: string;
  source: string;
  target: string;
  kind: "veth" | "nat" | "link";
  interfaces: string[];
  addresses: string[];
  rxBytes: number;
  txBytes: number;
}

/** topology.get: host, uplinks, sandboxes, foreign namespaces, and the links between them. */
export async function topology(app: EngineApp): Promise<{ nodes: TopologyNode[]; edges: TopologyEdge[] }> {
  const observed = await observe(app.runner);
  const rows = app.store.select().from(sandboxes).all();
  const counts = viewCountsOf(app.store);
  const portsBySandbox = new Map<string, TopologyPort[]>();
  for (const p of app.store
    .select({ sandboxId: ports.sandboxId, protocol: ports.protocol, hostPort: ports.hostPort, sandboxPort: ports.sandboxPort })
    .from(ports)
    .orderBy(ports.protocol, ports.hostPort)
    .all()) {
    const list = portsBySandbox.get(p.sandboxId) ?? [];
    list.push({ protocol: p.protocol, hostPort: p.hostPort, sandboxPort: p.sandboxPort });
    portsBySandbox.set(p.sandboxId, list);
  }
  const nodes: TopologyNode[] = [];
  const edges: TopologyEdge[] = [];
  const hostAddresses = observed.links
    .filter((l) => l.name !== "lo" && !markIdOfAlias(l.alias))
    .flatMap((l) => l.addresses.filter((a) => a.family === "inet").map((a) => `${a.address}/${a.prefix}`));
  nodes.push({ id: "host", kind: "host", label: os.hostname(), status: "ok", addresses: hostAddresses });
  const uplinks = uplinksOf(observed);
  for (const u of uplinks) {
    const link = observed.links.find((l) => l.name === u.name)!;
    nodes.push({ id: `uplink:${u.name}`, kind: "uplink", label: u.name, status: u.up ? "ok" : "down", addresses: u.addresses });
    edges.push({ id: `link:${u.name}`, source: "host", target: `uplink:${u.name}`, kind: "link", interfaces: [u.name], addresses: u.addresses, rxBytes: link.rxBytes, txBytes: link.txBytes });
  }
  const managed = new Set(rows.map((r) => r.name));
  for (const row of rows) {
    const view = viewOf(app, row, observed, counts);
    nodes.push({
      id: `sandbox:${row.name}`,
      kind: "sandbox",
      label: row.name,
      status: view.status,
      ...(view.statusDetail ? { statusDetail: view.statusDetail } : {}),
      addresses: view.interfaces.flatMap((i) => i.addresses),
      mode: row.mode,
      owner: row.owner,
      ports: portsBySandbox.get(row.id) ?? [],
    });
    const link = observed.links.find((l) => l.name === hostIfName(row.id));
    if (!link || !row.hostAddress) continue;
    const prefix = row.subnet?.split("/")[1];
    edges.push({
      id: `veth:${row.name}`,
      source: "host",
      target: `sandbox:${row.name}`,
      kind: "veth",
      interfaces: [link.name, "eth0"],
      addresses: [`${row.hostAddress}/${prefix}`, `${row.address}/${prefix}`],
      rxBytes: link.rxBytes,
      txBytes: link.txBytes,
    });
    if (row.mode === "nat" && row.egress && uplinks.some((u) => u.name === row.egress)) {
      edges.push({
        id: `nat:${row.name}`,
        source: `sandbox:${row.name}`,
        target: `uplink:${row.egress}`,
        kind: "nat",
        interfaces: [link.name, row.egress],
        addresses: [row.subnet!],
        // What the sandbox sent (the host end received) and what came back to it.
        rxBytes: link.rxBytes,
        txBytes: link.txBytes,
      });
    }
  }
  for (const ns of observed.namespaces) {
    if (managed.has(ns.name)) continue;
    nodes.push({ id: `foreign:${ns.name}`, kind: "foreign", label: ns.name, status: "foreign", addresses: [] });
  }
  // Host links whose peer is in a foreign namespace (a hand-made veth, the lab's uplink).
  for (const link of observed.links) {
    const ns = namespaceOfId(observed, link.peerNetnsId);
    if (!ns || managed.has(ns) || markIdOfAlias(link.alias)) continue;
    const source = uplinks.some((u) => u.name === link.name) ? `uplink:${link.name}` : "host";
    edges.push({
      id: `link:${link.name}:${ns}`,
      source,
      target: `foreign:${ns}`,
      kind: "link",
      interfaces: [link.name],
      addresses: link.addresses.filter((a) => a.family === "inet").map((a) => `${a.address}/${a.prefix}`),
      rxBytes: link.rxBytes,
      txBytes: link.txBytes,
    });
  }
  return { nodes, edges };
}
