// Puts the private lab back as scripts/lab/inside.mjs built it, between lab test files:
// every firewall table emptied (policies ACCEPT), every namespace but the world's
// deleted with its /etc/netns entry, links other than lo and the uplink removed, and
// ip_forward as it was. Refuses to run anywhere but in a private network namespace:
// on the real host this would wipe the firewall.
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { LAB } from "./constants.mjs";
import { killNetnsProcesses } from "./leftovers.mjs";

/**
 * True when this process's network namespace is not the host's: enter.mjs records the
 * host's (NSLAB_HOST_NETNS) before it unshares; PID 1's is compared too when readable.
 */
export function inPrivateNetns() {
  let own;
  try {
    own = fs.readlinkSync("/proc/self/ns/net");
  } catch {
    return false;
  }
  const host = process.env.NSLAB_HOST_NETNS;
  if (!host || host === own) return false;
  try {
    if (fs.readlinkSync("/proc/1/ns/net") === own) return false;
  } catch {
    // PID 1's namespace is not readable here; the recorded one decides
  }
  return true;
}

const TABLES = ["filter", "nat", "mangle", "raw"];
const BUILTIN = {
  filter: ["INPUT", "FORWARD", "OUTPUT"],
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
  mangle: ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
  raw: ["PREROUTING", "OUTPUT"],
};

/**
 * Empties the firewall. Rules and own chains go with iptables itself (whatever its
 * backend), then, where nft exists, `nft flush ruleset` removes the tables too: a fresh
 * lab has none, and iptables-nft base chains created by a restore would start counting
 * packets where a fresh lab's do not.
 */
async function emptyFirewall() {
  for (const tool of ["iptables", "ip6tables"]) {
    for (const table of TABLES) {
      await execa(tool, ["-w", "-t", table, "-F"], { reject: false });
      await execa(tool, ["-w", "-t", table, "-X"], { reject: false });
      for (const chain of BUILTIN[table]) await execa(tool, ["-w", "-t", table, "-P", chain, "ACCEPT"], { reject: false });
    }
  }
  await execa("nft", ["flush", "ruleset"], { reject: false });
}

/** Resets the lab; `ipForward` is the value to restore ("0" or "1"). Returns what it removed. */
export async function resetLab({ ipForward }) {
  if (process.env.NSLAB_LAB !== "1" || !inPrivateNetns()) {
    throw new Error("refusing to reset: not inside the private lab (this would wipe the real host's firewall)");
  }
  const removed = [];
  const list = await execa("ip", ["-j", "netns", "list"], { reject: false });
  const namespaces = list.exitCode === 0 && list.stdout.trim() ? JSON.parse(list.stdout).map((n) => n.name) : [];
  for (const name of namespaces) {
    if (name === LAB.worldNetns) continue;
    // Deleting a namespace only unmounts it: programs inside would live on, unseen.
    await killNetnsProcesses(name);
    await execa("ip", ["netns", "delete", name], { reject: false });
    fs.rmSync(path.join("/etc/netns", name), { recursive: true, force: true });
    removed.push(`netns ${name}`);
  }
  const links = await execa("ip", ["-j", "link", "show"], { reject: false });
  for (const link of links.exitCode === 0 ? JSON.parse(links.stdout) : []) {
    if (link.ifname === "lo" || link.ifname === LAB.uplinkIf) continue;
    await execa("ip", ["link", "delete", link.ifname], { reject: false });
    removed.push(`link ${link.ifname}`);
  }
  await emptyFirewall();
  fs.writeFileSync("/proc/sys/net/ipv4/ip_forward", `${ipForward}\n`);
  return removed;
}
