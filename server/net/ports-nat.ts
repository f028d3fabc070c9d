import fs from "node:fs";
import { CHAIN_PREFIX, ruleComment } from "./names";

/**
 * Published ports in the nat table (docs/firewall.md):
 *
 *   PREROUTING   -m addrtype --dst-type LOCAL -j NSLAB-PORTS    (from outside, via any host address)
 *   OUTPUT       -m addrtype --dst-type LOCAL -j NSLAB-PORTS    (from the host itself)
 *   NSLAB-PORTS  -p tcp -m tcp --dport <hostPort> -m comment --comment "nslab:<id>:port:<portId>"
 *                -j DNAT --to-destination <address>:<sandboxPort>
 *
 * NSLAB-PORTS is shared by all sandboxes and small (one line per published port), so it is
 * rewritten whole from the store in one `iptables-restore --noflush` nat transaction: the
 * result never depends on what the kernel held before (a crash or a hand edit heals on
 * the next change). The filter side needs nothing per port: the sandbox's ingress chain
 * accepts `--ctstate DNAT` whatever the policy.
 *
 * From the host itself only addresses that route locally work: 127.0.0.1 would need
 * `net.ipv4.conf.all.route_localnet=1`, which nslab does not set (it would expose
 * loopback-only services); use the uplink address (or any other host address) instead.
 */
export const PORTS_CHAIN = `${CHAIN_PREFIX}PORTS`;

/** One published port as the renderer needs it (already validated). */
export interface PortSpec {
  id: string;
  sandboxId: string;
  protocol: "tcp" | "udp";
  hostPort: number;
  sandboxPort: number;
  /** The sandbox's own address (inside end), where the traffic goes. */
  address: string;
}

const SAFE_ID = /^[a-z][0-9a-z]{9}$/;
const SAFE_ADDR = /^\d{1,3}(\.\d{1,3}){3}$/;
const isPort = (n: number) => Number.isInteger(n) && n >= 1 && n <= 65535;

/** The DNAT line of one port. */
export function renderPortRule(port: PortSpec): string {
  if (
    !SAFE_ID.test(port.id) ||
    !SAFE_ID.test(port.sandboxId) ||
    !SAFE_ADDR.test(port.address) ||
    !isPort(port.hostPort) ||
    !isPort(port.sandboxPort) ||
    (port.protocol !== "tcp" && port.protocol !== "udp")
  ) {
    throw new TypeError(`refusing to render an unvalidated port: ${JSON.stringify(port)}`);
  }
  return (
    `-A ${PORTS_CHAIN} -p ${port.protocol} -m ${port.protocol} --dport ${port.hostPort}` +
    ` -m comment --comment "${ruleComment(port.sandboxId, `port:${port.id}`)}"` +
    ` -j DNAT --to-destination ${port.address}:${port.sandboxPort}`
  );
}

/** The jumps into NSLAB-PORTS from the built-in nat chains. */
export const NAT_JUMPS = [
  `-A PREROUTING -m addrtype --dst-type LOCAL -j ${PORTS_CHAIN}`,
  `-A OUTPUT -m addrtype --dst-type LOCAL -j ${PORTS_CHAIN}`,
] as const;

/**
 * The nat-table lines (without `*nat`/`COMMIT`) that rewrite NSLAB-PORTS whole with
 * `ports` (every published port on the host, in a stable order), and insert the jumps
 * from PREROUTING/OUTPUT when `savedNat` (`iptables-save -t nat`) shows them missing.
 * Pass `savedNat: null` to leave the jumps alone.
 */
export function renderPortsChain(ports: readonly PortSpec[], savedNat: string | null = null): string[] {
  const lines = [`:${PORTS_CHAIN} - [0:0]`];
  if (savedNat !== null) {
    const saved = new Set(savedNat.split("\n").map((l) => l.replace(/^\[\d+:\d+\] /, "")));
    for (const jump of NAT_JUMPS) if (!saved.has(jump)) lines.push(jump.replace(/^-A (\S+)/, "-I $1 1"));
  }
  const sorted = [...ports].sort((a, b) => a.protocol.localeCompare(b.protocol) || a.hostPort - b.hostPort || a.id.localeCompare(b.id));
  for (const port of sorted) lines.push(renderPortRule(port));
  return lines;
}

/** The whole `iptables-restore --noflush` input for the nat side of published ports. */
export function renderPortsRestore(ports: readonly PortSpec[], savedNat: string | null = null): string {
  return `*nat\n${renderPortsChain(ports, savedNat).join("\n")}\nCOMMIT\n`;
}

/** The `-A NSLAB-PORTS` lines of `iptables-save -t nat` output. */
export function savedPortRules(savedNat: string): string[] {
  return savedNat
    .split("\n")
    .map((l) => l.replace(/^\[\d+:\d+\] /, ""))
    .filter((l) => l.startsWith(`-A ${PORTS_CHAIN} `));
}

/**
 * Ports bound on the host (this process's network namespace), from /proc/net: TCP
 * sockets in LISTEN, and every bound UDP socket. Reading /proc spawns nothing.
 */
export function parseProcNet(text: string, protocol: "tcp" | "udp"): Set<number> {
  const out = new Set<number>();
  for (const line of text.split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4) continue;
    const local = cols[1]!;
    const state = cols[3]!;
    if (protocol === "tcp" && state !== "0A") continue; // 0A = TCP_LISTEN
    const port = parseInt(local.slice(local.lastIndexOf(":") + 1), 16);
    if (port > 0) out.add(port);
  }
  return out;
}

/** The host's listening TCP (or bound UDP) ports, IPv4 and IPv6. */
export function listeningPorts(protocol: "tcp" | "udp", read: (file: string) => string = readIfPresent): Set<number> {
  const out = new Set<number>();
  for (const file of [`/proc/net/${protocol}`, `/proc/net/${protocol}6`]) {
    for (const port of parseProcNet(read(file), protocol)) out.add(port);
  }
  return out;
}

function readIfPresent(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return ""; // no IPv6 on this host
  }
}
