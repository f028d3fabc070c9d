import fs from "node:fs";

/** Facts about the private lab the test harness builds (scripts/lab/inside.mjs). */
export const lab = {
  inLab: process.env.NSLAB_LAB === "1",
  uplinkIf: process.env.LAB_UPLINK_IF ?? "eth0",
  uplinkAddr: process.env.LAB_UPLINK_ADDR ?? "203.0.113.10",
  worldAddr: process.env.LAB_WORLD_ADDR ?? "203.0.113.1",
  worldNetns: process.env.LAB_WORLD_NETNS ?? "world",
  worldPort: Number(process.env.LAB_WORLD_PORT ?? 8080),
};

/**
 * True unless this process is provably in the host's network namespace: enter.mjs records
 * the host's (NSLAB_HOST_NETNS) before it unshares, and the lab's own must differ.
 */
export function inPrivateNetns(): boolean {
  const host = process.env.NSLAB_HOST_NETNS;
  if (!host) return true; // entered some other way: NSLAB_LAB alone decides
  try {
    return fs.readlinkSync("/proc/self/ns/net") !== host;
  } catch {
    return false;
  }
}

/**
 * Refuses to go on outside the private lab: lab tests change network state and must
 * never run in the machine's real network namespace.
 */
export function requireLab(): void {
  if (!lab.inLab || !inPrivateNetns()) {
    throw new Error("lab tests run only inside the private lab: node scripts/lab/enter.mjs -- npx vitest run --project lab");
  }
}
