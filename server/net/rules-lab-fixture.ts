/**
 * A hand-built stand-in for the sandbox engine, for the rules/ports lab tests and
 * bench/rules: namespaces wired to the host by veths and the base filter layout of
 * docs/firewall.md, built in a few batched commands. Runs ONLY inside the private lab
 * (scripts/lab/enter.mjs); refuses otherwise.
 */
import { execa } from "execa";
import { egressChain, hostIfName, ingressChain, linkAlias, ruleComment } from "./names";
import { renderSandboxFilterChains } from "./sandbox-chains";

export interface LabSandbox {
  id: string;
  name: string;
  subnet: string;
  hostAddress: string;
  address: string;
}

function requireLab(): void {
  if (process.env.NSLAB_LAB !== "1") throw new Error("the rules lab fixture runs only inside the private lab");
}

const sh = async (file: string, args: string[], input?: string) => {
  const r = await execa(file, args, { input, reject: false });
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
};

/**
 * The k-th sandbox of a fixture (k < 16384): a /30 from 10.231.0.0/16, outside the
 * engine's pool, so sandboxes other lab test files leave behind never collide.
 */
export function labSandbox(k: number, prefix = "t"): LabSandbox {
  const id = `${prefix}${String(k).padStart(9, "0")}`;
  const base = k * 4;
  const net = `10.231.${Math.floor(base / 256)}.${base % 256}`;
  const at = (n: number) => `10.231.${Math.floor((base + n) / 256)}.${(base + n) % 256}`;
  return { id, name: `lab-${prefix}${k}`, subnet: `${net}/30`, hostAddress: at(1), address: at(2) };
}

/**
 * The base layout: own chains and the jumps. When the lab already holds nslab's layout
 * (an earlier test file ran the engine), it is used as it is.
 */
export async function buildBaseLayout(uplinkIf = "eth0"): Promise<void> {
  requireLab();
  await sh("sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]);
  const saved = await sh("iptables-save", []);
  if (saved.includes(":NSLAB-FORWARD ") && saved.includes(":NSLAB-PORTS ")) return;
  await sh("iptables-restore", ["--noflush", "--wait"], [
    "*filter",
    ":NSLAB-FORWARD - [0:0]",
    ":NSLAB-USER - [0:0]",
    ":NSLAB-EGRESS - [0:0]",
    ":NSLAB-INGRESS - [0:0]",
    "-A NSLAB-FORWARD -j NSLAB-USER",
    "-A NSLAB-FORWARD -i nsl+ -j NSLAB-EGRESS",
    "-A NSLAB-FORWARD -o nsl+ -j NSLAB-INGRESS",
    "-A NSLAB-FORWARD -i nsl+ -j ACCEPT",
    "-I FORWARD 1 -j NSLAB-FORWARD",
    "COMMIT",
    "*nat",
    ":NSLAB-POSTROUTING - [0:0]",
    ":NSLAB-PORTS - [0:0]",
    "-I POSTROUTING 1 -j NSLAB-POSTROUTING",
    "-I PREROUTING 1 -m addrtype --dst-type LOCAL -j NSLAB-PORTS",
    "-I OUTPUT 1 -m addrtype --dst-type LOCAL -j NSLAB-PORTS",
    "COMMIT",
    "",
  ].join("\n"));
}

/** Creates sandboxes (namespaces, veths, addresses, default routes, default chains) in batches. */
export async function buildSandboxes(list: readonly LabSandbox[], uplinkIf = "eth0"): Promise<void> {
  requireLab();
  if (list.length === 0) return;
  const host: string[] = [];
  for (const s of list) {
    const ifname = hostIfName(s.id);
    host.push(
      `netns add ${s.name}`,
      `link add ${ifname} type veth peer name eth0 netns ${s.name}`,
      `link set dev ${ifname} alias ${linkAlias(s.id)}`,
      `addr add ${s.hostAddress}/30 dev ${ifname}`,
      `link set dev ${ifname} up`,
    );
  }
  await sh("ip", ["-batch", "-"], `${host.join("\n")}\n`);
  for (const s of list) {
    await sh("ip", ["-n", s.name, "-batch", "-"], `link set dev lo up\naddr add ${s.address}/30 dev eth0\nlink set dev eth0 up\nroute add default via ${s.hostAddress}\n`);
  }
  const filter = ["*filter"];
  for (const s of list) {
    filter.push(...renderSandboxFilterChains({ id: s.id, policy: { egress: "accept", ingress: "drop" }, rules: [] }));
    filter.push(`-A NSLAB-EGRESS -i ${hostIfName(s.id)} -m comment --comment "${ruleComment(s.id)}" -j ${egressChain(s.id)}`);
    filter.push(`-A NSLAB-INGRESS -o ${hostIfName(s.id)} -m comment --comment "${ruleComment(s.id)}" -j ${ingressChain(s.id)}`);
  }
  filter.push("COMMIT", "*nat");
  for (const s of list) filter.push(`-A NSLAB-POSTROUTING -s ${s.subnet} -o ${uplinkIf} -m comment --comment "${ruleComment(s.id)}" -j MASQUERADE`);
  filter.push("COMMIT", "");
  await sh("iptables-restore", ["--noflush", "--wait"], filter.join("\n"));
}

/**
 * `iptables-save` of one table without the date comments and without the built-in
 * chains' counters (nf_tables prints them even without -c once a chain counts).
 */
export async function saveTable(table: "filter" | "nat"): Promise<string> {
  const out = await sh("iptables-save", ["-t", table]);
  return out
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .map((l) => (l.startsWith(":") ? l.replace(/ \[\d+:\d+\]$/, "") : l))
    .join("\n");
}

/** The filter and nat tables as they are (to put them back after a test file). */
export async function snapshotTables(): Promise<string> {
  requireLab();
  return sh("iptables-save", ["-t", "filter"]).then(async (filter) => `${filter}\n${await sh("iptables-save", ["-t", "nat"])}\n`);
}

/** Puts the filter and nat tables back exactly as `snapshot` holds them (one restore). */
export async function restoreTables(snapshot: string): Promise<void> {
  requireLab();
  await sh("iptables-restore", ["--wait"], snapshot);
}

/** Removes the fixture's namespaces (their veths go with them). */
export async function removeSandboxes(list: readonly LabSandbox[]): Promise<void> {
  requireLab();
  if (list.length) await sh("ip", ["-force", "-batch", "-"], `${list.map((s) => `netns del ${s.name}`).join("\n")}\n`);
}
