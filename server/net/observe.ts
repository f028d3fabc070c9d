/**
 * Reads what the host's kernel has now, in two commands whatever the number of
 * sandboxes: one `ip -j -d -s -batch -` (namespaces, links with aliases, addresses and
 * counters, routes) and one `iptables-save` (every table).
 */
import fs from "node:fs";
import os from "node:os";
import { CommandError, type Runner } from "./runner";
import { AppError } from "../errors";
import { parseIptablesSave, type Tables } from "./iptables";

export interface ObservedNamespace {
  name: string;
  /** The namespace's id as seen from the host (`link_netnsid` of links into it), if any. */
  id: number | null;
}

export interface ObservedLink {
  name: string;
  index: number;
  alias: string | null;
  kind: string | null;
  up: boolean;
  /** For a veth whose peer lives in another namespace: that namespace's id. */
  peerNetnsId: number | null;
  addresses: { address: string; prefix: number; family: "inet" | "inet6" }[];
  rxBytes: number;
  txBytes: number;
}

export interface ObservedRoute {
  dst: string;
  dev: string | null;
  gateway: string | null;
}

export interface Observed {
  namespaces: ObservedNamespace[];
  links: ObservedLink[];
  routes: ObservedRoute[];
  /** Null when the firewall was not read. */
  tables: Tables | null;
  /** The value of net.ipv4.ip_forward (null when unreadable). */
  ipForward: boolean | null;
  /**
   * Local IPv4 addresses as CIDRs (`10.9.9.9/32`, `127.0.0.0/8`), when read from
   * /proc/net/fib_trie by the light observation (the full one has them on `links`).
   */
  localAddresses?: string[];
}

/** The command observe runs for links, addresses, routes and namespaces. */
export const IP_OBSERVE_COMMAND = { argv: ["ip", "-j", "-d", "-s", "-batch", "-"], input: "netns list\naddr show\nroute show\n" };
export const IPTABLES_SAVE_COMMAND = { argv: ["iptables-save"] };

/** Splits the output of `ip -j -batch` (one JSON document per command, one per line). */
export function parseJsonLines(text: string): unknown[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown);
}

interface IpAddrJson {
  ifindex: number;
  ifname: string;
  flags?: string[];
  ifalias?: string;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string };
  addr_info?: { family: string; local: string; prefixlen: number }[];
  stats64?: { rx?: { bytes?: number }; tx?: { bytes?: number } };
}

/** Turns the three JSON documents of IP_OBSERVE_COMMAND into observations. */
export function parseIpObserve(text: string): Pick<Observed, "namespaces" | "links" | "routes"> {
  const [ns, addrs, routes] = parseJsonLines(text) as [
    { name: string; id?: number }[],
    IpAddrJson[],
    { dst: string; dev?: string; gateway?: string }[],
  ];
  return {
    namespaces: (ns ?? []).map((n) => ({ name: n.name, id: typeof n.id === "number" ? n.id : null })),
    links: (addrs ?? []).map((l) => ({
      name: l.ifname,
      index: l.ifindex,
      alias: l.ifalias ?? null,
      kind: l.linkinfo?.info_kind ?? null,
      up: (l.flags ?? []).includes("UP"),
      peerNetnsId: typeof l.link_netnsid === "number" ? l.link_netnsid : null,
      addresses: (l.addr_info ?? [])
        .filter((a) => a.family === "inet" || a.family === "inet6")
        .map((a) => ({ address: a.local, prefix: a.prefixlen, family: a.family as "inet" | "inet6" })),
      rxBytes: l.stats64?.rx?.bytes ?? 0,
      txBytes: l.stats64?.tx?.bytes ?? 0,
    })),
    routes: (routes ?? []).map((r) => ({ dst: r.dst, dev: r.dev ?? null, gateway: r.gateway ?? null })),
  };
}

export const IP_FORWARD_PATH = "/proc/sys/net/ipv4/ip_forward";

function readIpForward(): boolean | null {
  try {
    return fs.readFileSync(IP_FORWARD_PATH, "utf8").trim() === "1";
  } catch {
    return null;
  }
}

/** Reads the host: links/addresses/routes/namespaces, and the firewall unless `firewall: false`. */
export async function observe(runner: Runner, options: { firewall?: boolean } = {}): Promise<Observed> {
  const ip = await read(runner, IP_OBSERVE_COMMAND);
  const parsed = parseIpObserve(ip);
  let tables: Tables | null = null;
  if (options.firewall !== false) tables = parseIptablesSave(await read(runner, IPTABLES_SAVE_COMMAND));
  return { ...parsed, tables, ipForward: readIpForward() };
}

/** Runs a read; a host that cannot answer it (tool missing, no privilege) is HOST_UNSUPPORTED. */
async function read(runner: Runner, command: { argv: string[]; input?: string }): Promise<string> {
  try {
    return (await runner.run(command)).stdout;
  } catch (error) {
    if (error instanceof CommandError) {
      throw new AppError("HOST_UNSUPPORTED", `Cannot read the host's network state (${command.argv.join(" ")}): ${error.stderr.trim() || error.message}`, {
        command: [...command.argv],
        stderr: error.stderr,
      }, { cause: error });
    }
    throw error;
  }
}

/** The name of the namespace with host-side id `id`, if listed. */
export function namespaceOfId(observed: Observed, id: number | null): string | null {
  if (id === null) return null;
  return observed.namespaces.find((n) => n.id === id)?.name ?? null;
}

/** /proc/net/route (IPv4 main table): destination/mask in little-endian hex → routes. */
export function parseProcRoute(text: string): ObservedRoute[] {
  const hexToIp = (hex: string) => {
    const n = parseInt(hex, 16);
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join(".");
  };
  const maskBits = (hex: string) => {
    let n = parseInt(hex, 16) >>> 0;
    let bits = 0;
    while (n) {
      bits += n & 1;
      n >>>= 1;
    }
    return bits;
  };
  const routes: ObservedRoute[] = [];
  for (const line of text.split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 8) continue;
    const [dev, dst, gw, , , , , mask] = cols;
    const prefix = maskBits(mask!);
    routes.push({
      dst: prefix === 0 && dst === "00000000" ? "default" : `${hexToIp(dst!)}/${prefix}`,
      dev: dev!,
      gateway: gw === "00000000" ? null : hexToIp(gw!),
    });
  }
  return routes;
}

/**
 * The cheap observation for creating sandboxes, without spawning anything: namespace
 * names (/run/netns), interfaces (/sys/class/net) with their IPv4 addresses
 * (os.networkInterfaces) and IPv4 routes (/proc/net/route). No firewall (`tables:
 * null`): the base layout is verified at start and by reconcile, and a create that
 * finds it broken falls back to the full observation.
 */
export function observeLight(): Observed {
  const list = (dir: string) => {
    try {
      return fs.readdirSync(dir);
    } catch {
      return [];
    }
  };
  // Interface names only; addresses come from the FIB (cheaper than getifaddrs with
  // hundreds of veths): local addresses as LOCAL entries, subnets as routes.
  const links: ObservedLink[] = list("/sys/class/net").map((name, index) => ({
    name,
    index,
    alias: null,
    kind: null,
    up: true,
    peerNetnsId: null,
    addresses: [],
    rxBytes: 0,
    txBytes: 0,
  }));
  let localAddresses: string[] = [];
  try {
    localAddresses = parseFibTrieLocal(fs.readFileSync("/proc/net/fib_trie", "utf8"));
  } catch {
    localAddresses = Object.values(os.networkInterfaces())
      .flat()
      .filter((a) => a && a.family === "IPv4" && a.cidr)
      .map((a) => a!.cidr!);
  }
  let routes: ObservedRoute[] = [];
  try {
    routes = parseProcRoute(fs.readFileSync("/proc/net/route", "utf8"));
  } catch {
    routes = [];
  }
  return {
    namespaces: list("/run/netns").map((name) => ({ name, id: null })),
    links,
    routes,
    tables: null,
    ipForward: readIpForward(),
    localAddresses,
  };
}

/** The LOCAL entries of /proc/net/fib_trie (`|-- 10.9.9.9` then `/32 host LOCAL`) as CIDRs. */
export function parseFibTrieLocal(text: string): string[] {
  const out = new Set<string>();
  let current: string | null = null;
  for (const line of text.split("\n")) {
    const leaf = /\|-- (\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
    if (leaf) {
      current = leaf[1]!;
      continue;
    }
    const entry = /^\s+\/(\d+) \S+ LOCAL\b/.exec(line);
    if (entry && current) out.add(`${current}/${entry[1]}`);
  }
  return [...out];
}
