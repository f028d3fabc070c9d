/** The shapes of API.md's answers that the pages use (the contract, not the server's types). */

export type Status = "ok" | "drift" | "error";
export type Mode = "nat" | "routed" | "isolated";
export type PolicyAction = "accept" | "drop";

export interface Sandbox {
  name: string;
  id: string;
  owner: string;
  mode: Mode;
  subnet: string | null;
  hostAddress: string | null;
  address: string | null;
  nat: boolean;
  egress: string | null;
  dns: string[];
  description?: string;
  policy: { egress: PolicyAction; ingress: PolicyAction };
  status: Status;
  statusDetail?: string;
  interfaces: { name: string; hostName: string | null; addresses: string[] }[];
  createdAt: string;
  /** Optional extras some servers add. */
  ruleCount?: number;
}

export interface SandboxList {
  sandboxes: Sandbox[];
  foreign: { name: string }[];
}

export interface Rule {
  id: string;
  position: number;
  direction: "egress" | "ingress";
  action: "accept" | "drop" | "reject";
  protocol: "any" | "tcp" | "udp" | "icmp";
  peer: string | null;
  ports: string | null;
  comment: string;
  packets: number;
  bytes: number;
}

export interface RuleList {
  revision: number;
  policy: { egress: PolicyAction; ingress: PolicyAction; egressPackets: number; ingressPackets: number; egressBytes?: number; ingressBytes?: number };
  rules: Rule[];
}

export interface Port {
  id: string;
  protocol: "tcp" | "udp";
  hostPort: number;
  sandboxPort: number;
}

export interface Program {
  id: string;
  sandbox: string;
  argv: string[];
  user: string;
  pid: number | null;
  state: "running" | "exited";
  exitCode?: number | null;
  signal?: string | null;
  startedAt: string;
  endedAt?: string;
  startedBy: string;
}

export interface HostInfo {
  uplinks: ({ name: string; addresses?: string[]; default?: boolean } | string)[];
  ipForward: boolean;
  firewallBackend: string;
  warnings: (string | { message: string })[];
  [key: string]: unknown;
}

export interface TopologyNode {
  id: string;
  kind: "host" | "uplink" | "sandbox" | "foreign";
  label: string;
  status: Status | string;
  statusDetail?: string;
  addresses: string[];
  [key: string]: unknown;
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
  [key: string]: unknown;
}

export interface Topology {
  nodes: TopologyNode[];
  edges: TopologyEdge[];
}

/** An uplink's name whether the server sends a string or an object. */
export function uplinkName(u: HostInfo["uplinks"][number]): string {
  return typeof u === "string" ? u : u.name;
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** Bytes per second → "12 KiB/s"; small rates as B/s. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.max(0, Math.round(bytesPerSecond)))}/s`;
}

/** 12345 → "12,345". */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** Tone of a status badge. */
export function statusTone(status: string): "green" | "amber" | "rose" | "slate" {
  return status === "ok" ? "green" : status === "drift" ? "amber" : status === "error" ? "rose" : "slate";
}

/**
 * Expands a bulk pattern: "lab-1..20" → lab-1 … lab-20; "web-01..12" keeps the zero
 * padding; a plain name is itself. Returns null when the pattern is not understood.
 */
export function expandPattern(pattern: string): string[] | null {
  const text = pattern.trim();
  const m = /^(.*?)(\d+)\.\.(\d+)(.*)$/.exec(text);
  if (!m) return text ? [text] : null;
  const [, prefix, a, b, suffix] = m as unknown as [string, string, string, string, string];
  const from = Number(a);
  const to = Number(b);
  if (to < from || to - from >= 1000) return null;
  const width = a.length > 1 && a.startsWith("0") ? a.length : 0;
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(`${prefix}${width ? String(i).padStart(width, "0") : i}${suffix}`);
  return out;
}
