/**
 * Support for the sandbox engine's kernel tests and bench (private lab only): an App
 * built in-process around a real runner, a runner that fails at step k, snapshots of
 * the host's network state, and ICMP echo from inside a namespace.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import type { App } from "../server/app";
import { loadConfig } from "../server/config";
import { openStore } from "../server/store/db";
import { EventBus } from "../server/core/events";
import { SignInLimiter } from "../server/auth/rate-limit";
import { CommandError, ExecaRunner, type Command, type CommandResult, type Runner } from "../server/net/runner";
import { requireLab } from "./lab";

/** True for the commands that read the host (observe); every other command changes it. */
export const isRead = (c: Command) => c.argv[0]!.endsWith("-save") || c.argv.includes("-j") || (c.argv[0] === "iptables" && c.argv[1] === "-V");

/**
 * A real runner that records every command and, when armed, fails the k-th command
 * that changes the host (0-based): "before" refuses it without running it, "after"
 * runs it and then reports a failure (as a batch that stopped half-way would).
 */
export class LabRunner implements Runner {
  readonly log: Command[] = [];
  private failAt: number | null = null;
  private mode: "before" | "after" = "before";
  private changes = 0;
  constructor(private readonly inner: Runner = new ExecaRunner()) {}

  arm(k: number, mode: "before" | "after" = "before"): void {
    this.failAt = k;
    this.mode = mode;
    this.changes = 0;
  }
  disarm(): void {
    this.failAt = null;
    this.failWhenPredicate = null;
  }
  private failWhenPredicate: ((c: Command) => boolean) | null = null;
  /** Fails every command matching `predicate` (undos that do not match still run). */
  failWhen(predicate: (c: Command) => boolean, mode: "before" | "after" = "before"): void {
    this.failWhenPredicate = predicate;
    this.mode = mode;
  }
  /** Commands that changed (or would have changed) the host since `from`. */
  changesSince(from: number): Command[] {
    return this.log.slice(from).filter((c) => !isRead(c));
  }

  async run(command: Command): Promise<CommandResult> {
    this.log.push(command);
    if (this.failWhenPredicate?.(command)) {
      if (this.mode === "after") await this.inner.run(command).catch(() => undefined);
      throw new CommandError(command.argv, 1, "", "injected failure (matching command)", false);
    }
    if (!isRead(command) && this.failAt !== null) {
      const k = this.changes++;
      if (k === this.failAt) {
        this.failAt = null;
        if (this.mode === "after") await this.inner.run(command).catch(() => undefined);
        throw new CommandError(command.argv, 1, "", `injected failure at change ${k}`, false);
      }
    }
    return this.inner.run(command);
  }
}

/** An App like the server's, built in the test process (own data dir, a LabRunner). */
export function makeApp(env: Record<string, string> = {}): App & { runner: LabRunner; dataDir: string } {
  requireLab();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-engine-"));
  const config = loadConfig({ NSLAB_DATA_DIR: dataDir, NSLAB_RECONCILE_SECONDS: "0", NSLAB_LOG_LEVEL: "silent", ...env } as unknown as NodeJS.ProcessEnv);
  return {
    config,
    store: openStore(config.dataDir),
    events: new EventBus(),
    signInLimiter: new SignInLimiter(),
    runner: new LabRunner(),
    ready: Promise.resolve(),
    dataDir,
  };
}

async function out(file: string, args: string[]): Promise<string> {
  const r = await execa(file, args, { reject: false });
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

export interface HostSnapshot {
  iptables: string;
  links: string;
  netns: string;
  etcNetns: string[];
}

/** The host's network state: iptables-save without comments and counters, `ip -j link`, `ip netns list`, /etc/netns. */
export async function snapshot(): Promise<HostSnapshot> {
  const iptables = (await out("iptables-save", []))
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .map((l) => l.replace(/\[\d+:\d+\]/, "[0:0]"))
    .join("\n");
  const links = JSON.stringify(
    (JSON.parse(await out("ip", ["-j", "link", "show"])) as Record<string, unknown>[]).map((l) => {
      const { operstate: _o, flags: _f, ...rest } = l; // carrier comes and goes with peers' state
      return rest;
    }),
  );
  return { iptables, links, netns: await out("ip", ["netns", "list"]), etcNetns: fs.existsSync("/etc/netns") ? fs.readdirSync("/etc/netns").sort() : [] };
}

/** Runs argv inside namespace `ns`. */
export function inNs(ns: string, argv: string[], options: { input?: string } = {}) {
  return execa("ip", ["netns", "exec", ns, ...argv], { reject: false, input: options.input });
}

const PING = `
import socket, struct, sys, os, select
def csum(b):
    if len(b) % 2: b += b"\\0"
    s = sum(struct.unpack("!%dH" % (len(b)//2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident = os.getpid() & 0xffff
hdr = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"nslab"
pkt = struct.pack("!BBHHH", 8, 0, csum(hdr), ident, 1) + b"nslab"
s.sendto(pkt, (sys.argv[1], 0))
while True:
    r, _, _ = select.select([s], [], [], float(sys.argv[2]))
    if not r:
        print("timeout"); sys.exit(0)
    data, addr = s.recvfrom(2048)
    ihl = (data[0] & 15) * 4
    t, code, _, rid, seq = struct.unpack("!BBHHH", data[ihl:ihl+8])
    if t == 0 and rid == ident:
        print("reply " + addr[0]); sys.exit(0)
`;

/** One ICMP echo from inside `ns` to `address`: "reply <from>" or "timeout". */
export async function ping(ns: string, address: string, timeoutSeconds = 1): Promise<string> {
  const r = await inNs(ns, ["python3", "-c", PING, address, String(timeoutSeconds)]);
  return (r.stdout || r.stderr).trim();
}

/** Addresses of interfaces inside `ns` (family inet), e.g. ["127.0.0.1/8", "10.200.0.2/30"]. */
export async function addressesIn(ns: string): Promise<{ ifname: string; addresses: string[] }[]> {
  const text = await out("ip", ["-n", ns, "-j", "addr", "show"]);
  return (JSON.parse(text) as { ifname: string; addr_info: { family: string; local: string; prefixlen: number }[] }[]).map((l) => ({
    ifname: l.ifname,
    addresses: l.addr_info.filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`),
  }));
}

/** Runs a shell-free command in the lab root (for hand-made foreign state and drift). */
export async function labRun(file: string, args: string[], input?: string): Promise<string> {
  const r = await execa(file, args, { reject: false, input });
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}
