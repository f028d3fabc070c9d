import { execa } from "execa";

/** The simulated outside world of the lab (scripts/lab/inside.mjs). */
export const world = {
  addr: process.env.LAB_WORLD_ADDR ?? "203.0.113.1",
  port: Number(process.env.LAB_WORLD_PORT ?? 8080),
  netns: process.env.LAB_WORLD_NETNS ?? "world",
  uplinkAddr: process.env.LAB_UPLINK_ADDR ?? "203.0.113.10",
};

/** Runs a command (argv, no shell) in the lab; never throws, returns exit code and output. */
export async function run(argv: string[], timeoutMs = 15_000) {
  const r = await execa(argv[0]!, argv.slice(1), { reject: false, timeout: timeoutMs });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") };
}

/** The IPv4 addresses on eth0 inside the namespace, as the kernel reports them. */
export async function kernelAddresses(netns: string): Promise<string[]> {
  const r = await run(["ip", "-n", netns, "-j", "addr", "show", "dev", "eth0"]);
  if (r.exitCode !== 0) return [];
  const links = JSON.parse(r.stdout) as { addr_info?: { family: string; local: string }[] }[];
  return links.flatMap((l) => (l.addr_info ?? []).filter((a) => a.family === "inet").map((a) => a.local));
}

/** The namespaces the kernel has (inside the lab's own /run/netns). */
export async function netnsNames(): Promise<string[]> {
  const r = await run(["ip", "-j", "netns", "list"]);
  if (r.exitCode !== 0 || !r.stdout.trim()) return [];
  return (JSON.parse(r.stdout) as { name: string }[]).map((n) => n.name);
}

/** An HTTP GET from inside a namespace to the world server: curl's exit code and body. */
export async function fetchFrom(netns: string, url = `http://${world.addr}:${world.port}/`) {
  return run(["ip", "netns", "exec", netns, "curl", "-sS", "--max-time", "2", url], 10_000);
}
