/**
 * bench/sandboxes: how fast nslab builds and removes sandboxes, against the tutorial's
 * way (one process per command) and the batched-shell floor, measured in one run inside
 * the private lab. A script that prints figures, not a test.
 *
 *   NSLAB_DIST_DIR=.next-engine npx next build
 *   NSLAB_DIST_DIR=.next-engine node scripts/lab/enter.mjs -- node --import tsx bench/sandboxes.ts
 *
 * Env: BENCH_NS="10,50,200" (sizes), BENCH_REPS=3 (runs per figure; the median is shown).
 *
 * (a) api-1by1     N × sandbox.create over HTTP, one after another (NAT, default policy)
 * (b) createMany   one sandbox.createMany of N over HTTP
 * (c) tutorial     the seed tutorial's way, one process per command (ip netns add, ip link
 *                  add + set netns, ip addr/link, ip netns exec ... ip addr/link/route,
 *                  iptables -A for NAT and the same default-deny chains), via execa
 * (d) floor        the batched-shell floor: one `ip -batch` on the host, one
 *                  `ip -n NAME -batch` per sandbox, one iptables-restore
 * (e) del-1by1     N × sandbox.delete over HTTP;  (f) deleteMany: one sandbox.deleteMany
 * (g) floor-del    one iptables-restore + one `ip -batch` (link del, netns del)
 */
import { performance } from "node:perf_hooks";
import { execa } from "execa";
import { startServer } from "../test-support/server";
import { ApiClient } from "../test-support/api-client";
import { requireLab, lab } from "../test-support/lab";

requireLab();

const SIZES = (process.env.BENCH_NS ?? "10,50,200").split(",").map(Number);
const REPS = Number(process.env.BENCH_REPS ?? 3);

const run = async (file: string, args: string[], input?: string) => {
  const r = await execa(file, args, { input, reject: false, stdin: input === undefined ? "ignore" : undefined });
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(" ")}: ${r.stderr}`);
};

const time = async (fn: () => Promise<void>) => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The k-th hand-built sandbox of the tutorial/floor runs: 10.201.0.0/16, unmarked names. */
function hand(k: number) {
  const base = k * 4;
  const at = (n: number) => `10.201.${Math.floor((base + n) / 256)}.${(base + n) % 256}`;
  return { name: `b${k}`, ifname: `bh${k}`, subnet: `${at(0)}/30`, host: at(1), addr: at(2), tag: `bench:${k}` };
}

/** The same filter/nat lines nslab writes for a sandbox (default policy), tagged as the bench's. */
function handRules(k: number): { filter: string[]; nat: string[] } {
  const s = hand(k);
  const e = `BENCH-E-${k}`;
  const i = `BENCH-I-${k}`;
  const c = `-m comment --comment ${s.tag}`;
  return {
    filter: [
      `-N ${e}`,
      `-N ${i}`,
      `-A ${e} -m conntrack --ctstate RELATED,ESTABLISHED ${c} -j RETURN`,
      `-A ${e} ${c} -j RETURN`,
      `-A ${i} -m conntrack --ctstate RELATED,ESTABLISHED ${c} -j ACCEPT`,
      `-A ${i} -m conntrack --ctstate DNAT ${c} -j ACCEPT`,
      `-A ${i} ${c} -j DROP`,
      `-A NSLAB-EGRESS -i ${s.ifname} ${c} -j ${e}`,
      `-A NSLAB-INGRESS -o ${s.ifname} ${c} -j ${i}`,
      `-A NSLAB-GATEWAY -d ${s.host}/32 -i ${s.ifname} -p icmp -m icmp --icmp-type 8 ${c} -j ACCEPT`,
    ],
    nat: [`-A NSLAB-POSTROUTING -s ${s.subnet} -o ${lab.uplinkIf} ${c} -j MASQUERADE`],
  };
}

/** (c) The tutorial's way: every command its own process. */
async function tutorialCreate(n: number) {
  for (let k = 0; k < n; k++) {
    const s = hand(k);
    await run("ip", ["netns", "add", s.name]);
    await run("ip", ["link", "add", s.ifname, "type", "veth", "peer", "name", `bp${k}`]);
    await run("ip", ["link", "set", `bp${k}`, "netns", s.name]);
    await run("ip", ["addr", "add", `${s.host}/30`, "dev", s.ifname]);
    await run("ip", ["link", "set", s.ifname, "up"]);
    await run("ip", ["netns", "exec", s.name, "ip", "link", "set", "lo", "up"]);
    await run("ip", ["netns", "exec", s.name, "ip", "link", "set", `bp${k}`, "name", "eth0"]);
    await run("ip", ["netns", "exec", s.name, "ip", "addr", "add", `${s.addr}/30`, "dev", "eth0"]);
    await run("ip", ["netns", "exec", s.name, "ip", "link", "set", "eth0", "up"]);
    await run("ip", ["netns", "exec", s.name, "ip", "route", "add", "default", "via", s.host]);
    const rules = handRules(k);
    for (const line of rules.filter) await run("iptables", line.split(" "));
    for (const line of rules.nat) await run("iptables", ["-t", "nat", ...line.split(" ")]);
  }
}

/** (d) The batched-shell floor. */
async function floorCreate(n: number) {
  const host: string[] = [];
  for (let k = 0; k < n; k++) {
    const s = hand(k);
    host.push(`netns add ${s.name}`, `link add ${s.ifname} type veth peer name eth0 netns ${s.name}`, `addr add ${s.host}/30 dev ${s.ifname}`, `link set dev ${s.ifname} up`);
  }
  await run("ip", ["-batch", "-"], `${host.join("\n")}\n`);
  for (let k = 0; k < n; k++) {
    const s = hand(k);
    await run("ip", ["-n", s.name, "-batch", "-"], `link set dev lo up\naddr add ${s.addr}/30 dev eth0\nlink set dev eth0 up\nroute add default via ${s.host}\n`);
  }
  const filter: string[] = [];
  const nat: string[] = [];
  for (let k = 0; k < n; k++) {
    const r = handRules(k);
    filter.push(...r.filter.map((l) => (l.startsWith("-N ") ? `:${l.slice(3)} - [0:0]` : l)));
    nat.push(...r.nat);
  }
  await run("iptables-restore", ["--noflush", "--wait"], `*filter\n${filter.join("\n")}\nCOMMIT\n*nat\n${nat.join("\n")}\nCOMMIT\n`);
}

/** (g) The floor's delete: one restore, one ip batch. Also cleans up after (c). */
async function floorDelete(n: number) {
  const filter: string[] = [];
  const nat: string[] = [];
  const chains: string[] = [];
  for (let k = 0; k < n; k++) {
    const r = handRules(k);
    for (const l of r.filter) {
      if (l.startsWith("-N ")) chains.push(l.slice(3));
      else if (!l.startsWith(`-A BENCH-`)) filter.push(`-D ${l.slice(3)}`);
    }
    nat.push(...r.nat.map((l) => `-D ${l.slice(3)}`));
  }
  await run(
    "iptables-restore",
    ["--noflush", "--wait"],
    `*filter\n${[...filter, ...chains.map((c) => `-F ${c}`), ...chains.map((c) => `-X ${c}`)].join("\n")}\nCOMMIT\n*nat\n${nat.join("\n")}\nCOMMIT\n`,
  );
  const host: string[] = [];
  for (let k = 0; k < n; k++) host.push(`link del dev ${hand(k).ifname}`, `netns del ${hand(k).name}`);
  await run("ip", ["-batch", "-"], `${host.join("\n")}\n`);
}

async function main() {
  const server = await startServer({ env: { NSLAB_RECONCILE_SECONDS: "0", NSLAB_LOG_LEVEL: "warn" } });
  const api = new ApiClient(server.baseURL);
  await api.login("admin", server.adminPassword);
  const names = (n: number, p: string) => Array.from({ length: n }, (_, k) => `${p}${k}`);
  type Row = Record<string, number>;
  const table: { n: number; row: Row }[] = [];
  try {
    // Warm up: the first calls compile routes.
    await api.mutate("sandbox.create", { name: "warm" });
    await api.mutate("sandbox.delete", { name: "warm" });
    for (const n of SIZES) {
      const samples: Record<string, number[]> = {};
      const add = (k: string, v: number) => (samples[k] ??= []).push(v);
      for (let rep = 0; rep < REPS; rep++) {
        const one = names(n, "o");
        add("api-1by1", await time(async () => {
          for (const name of one) await api.mutate("sandbox.create", { name });
        }));
        add("del-1by1", await time(async () => {
          for (const name of one) await api.mutate("sandbox.delete", { name });
        }));
        const many = names(n, "m");
        add("createMany", await time(async () => {
          await api.mutate("sandbox.createMany", { sandboxes: many.map((name) => ({ name })) });
        }));
        add("deleteMany", await time(async () => {
          await api.mutate("sandbox.deleteMany", { names: many });
        }));
        add("tutorial", await time(() => tutorialCreate(n)));
        await floorDelete(n);
        add("floor", await time(() => floorCreate(n)));
        add("floor-del", await time(() => floorDelete(n)));
      }
      const row: Row = {};
      for (const [k, v] of Object.entries(samples)) row[k] = median(v);
      table.push({ n, row });
      console.error(`N=${n} done`);
    }
  } finally {
    await server.stop();
  }

  const cols = ["api-1by1", "createMany", "tutorial", "floor", "del-1by1", "deleteMany", "floor-del"];
  const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
  console.log(`\nnslab bench/sandboxes — medians of ${REPS} runs; total time (per sandbox)\n`);
  console.log(["N".padStart(4), ...cols.map((c) => c.padStart(22))].join(" "));
  for (const { n, row } of table) {
    console.log([String(n).padStart(4), ...cols.map((c) => `${fmt(row[c]!)} (${(row[c]! / n).toFixed(1)})`.padStart(22))].join(" "));
  }
  console.log("\nratios");
  console.log(
    ["N".padStart(4), "tutorial/api-1by1", "tutorial/createMany", "createMany/floor", "del-1by1/deleteMany", "deleteMany/floor-del"].map((h, i) => (i ? h.padStart(22) : h)).join(" "),
  );
  for (const { n, row } of table) {
    const r = (a: string, b: string) => `${(row[a]! / row[b]!).toFixed(2)}x`.padStart(22);
    console.log([String(n).padStart(4), r("tutorial", "api-1by1"), r("tutorial", "createMany"), r("createMany", "floor"), r("del-1by1", "deleteMany"), r("deleteMany", "floor-del")].join(" "));
  }
}

await main();
