// Ends processes a lab run left behind (detached programs started in sandboxes, a
// server that was not stopped): they would outlive the lab, holding its namespaces.
import fs from "node:fs";
import { execa } from "execa";

/** The pids of processes in network namespace NAME (`ip netns pids`). */
async function pidsOfNetns(name) {
  const out = await execa("ip", ["netns", "pids", name], { reject: false });
  return out.exitCode === 0 ? out.stdout.split("\n").filter(Boolean).map(Number) : [];
}

/** The pids of other processes that share this process's network namespace. */
function pidsOfOwnNetns() {
  const own = fs.readlinkSync("/proc/self/ns/net");
  const pids = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (fs.readlinkSync(`/proc/${entry}/ns/net`) === own) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return pids;
}

function killAll(pids) {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  return pids.length;
}

/** Kills every process inside namespace NAME; returns how many. */
export async function killNetnsProcesses(name) {
  return killAll(await pidsOfNetns(name));
}

/**
 * Kills every process left in the lab: in each named namespace and in the lab's root
 * namespace (but this process). Only for the end of a lab, after its command exited.
 */
export async function killLabLeftovers() {
  let killed = 0;
  const list = await execa("ip", ["-j", "netns", "list"], { reject: false });
  const names = list.exitCode === 0 && list.stdout.trim() ? JSON.parse(list.stdout).map((n) => n.name) : [];
  for (const name of names) killed += await killNetnsProcesses(name);
  killed += killAll(pidsOfOwnNetns());
  return killed;
}
