/**
 * bench/rules: what one rule change costs as the totals grow (issue 4's benchmark).
 * Runs ONLY inside the private lab:
 *
 *   node scripts/lab/enter.mjs -- npx tsx bench/rules.ts [--others 200] [--repeat 15]
 *
 * Builds 200 other sandboxes (each with a few rules) plus one target sandbox, then for
 * the target holding 0, 100 and 1,000 rules times rule.add / rule.move / rule.delete of
 * one rule through the tRPC procedures in-process (schema, service, store with audit, one
 * iptables-restore), and rule.list with live counters at 1,000 rules. Alongside: the
 * naive way (one `iptables` process per rule, as the seed tutorial does) for 1,000 rules,
 * against one rule.replaceAll of the same 1,000 rules. Prints medians and growth.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { execa } from "execa";
import { openStore } from "../server/store/db";
import { sandboxes } from "../server/store/schema";
import { EventBus } from "../server/core/events";
import { ExecaRunner } from "../server/net/runner";
import { callerFor } from "../test-support/caller";
import type { App } from "../server/app";
import { buildBaseLayout, buildSandboxes, labSandbox, removeSandboxes, restoreTables, snapshotTables, type LabSandbox } from "../server/net/rules-lab-fixture";
import { egressChain } from "../server/net/names";

if (process.env.NSLAB_LAB !== "1") {
  console.error("bench/rules runs only inside the private lab: node scripts/lab/enter.mjs -- npx tsx bench/rules.ts");
  process.exit(2);
}

const arg = (name: string, fallback: number) => {
  const k = process.argv.indexOf(`--${name}`);
  return k > 0 ? Number(process.argv[k + 1]) : fallback;
};
const OTHERS = arg("others", 200);
const REPEAT = arg("repeat", 15);
const SIZES = [0, 100, 1000];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;
async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const store = openStore(fs.mkdtempSync(path.join(os.tmpdir(), "nslab-bench-rules-")));
const app = { store, runner: new ExecaRunner(), events: new EventBus() } as unknown as App;
const api = callerFor(app, "bench", "admin");

const insert = (s: LabSandbox) =>
  store
    .insert(sandboxes)
    .values({ id: s.id, name: s.name, owner: "bench", mode: "nat", nat: true, subnet: s.subnet, hostAddress: s.hostAddress, address: s.address, egress: "eth0", state: "ready", createdAt: new Date().toISOString() })
    .run();

const ruleOf = (k: number) => ({
  direction: k % 4 === 0 ? ("ingress" as const) : ("egress" as const),
  action: (["accept", "drop", "reject"] as const)[k % 3]!,
  protocol: (["tcp", "udp"] as const)[k % 2]!,
  peer: `10.${k % 250}.${(k >> 3) % 250}.0/24`,
  ports: String(1024 + (k % 60000)),
});

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(" ");
console.log(`bench/rules: ${OTHERS} other sandboxes, ${REPEAT} repeats per figure, ${os.cpus().length} CPUs, ${(await execa("iptables", ["--version"])).stdout}, load average ${load()}`);
const tablesBefore = await snapshotTables();
await buildBaseLayout("eth0");
const target = labSandbox(0, "t");
const others = Array.from({ length: OTHERS }, (_, k) => labSandbox(k + 1, "o"));
let t0 = performance.now();
await buildSandboxes([target, ...others]);
for (const s of [target, ...others]) insert(s);
for (const s of others) {
  await api.rule.replaceAll({ sandbox: s.name, revision: 0, rules: Array.from({ length: 5 }, (_, k) => ruleOf(k)) });
}
console.log(`set-up: ${OTHERS + 1} sandboxes, ${OTHERS * 5} rules in other sandboxes, ${ms(performance.now() - t0)}`);

const rows: { size: number; add: number; move: number; del: number }[] = [];
for (const size of SIZES) {
  const { revision } = await api.rule.list({ sandbox: target.name });
  await api.rule.replaceAll({ sandbox: target.name, revision, rules: Array.from({ length: size }, (_, k) => ruleOf(k)) });
  const add: number[] = [];
  const move: number[] = [];
  const del: number[] = [];
  for (let r = 0; r < REPEAT; r++) {
    let id = "";
    add.push(await time(async () => {
      id = (await api.rule.add({ sandbox: target.name, direction: "egress", action: "drop", protocol: "tcp", ports: "9000-9100", position: Math.floor(size / 2) })).id;
    }));
    move.push(await time(() => api.rule.move({ sandbox: target.name, id, position: size })));
    del.push(await time(() => api.rule.delete({ sandbox: target.name, id })));
  }
  rows.push({ size, add: median(add), move: median(move), del: median(del) });
}

// rule.list with live counters at 1,000 rules (the last size left 1,000 in place).
const list: number[] = [];
for (let r = 0; r < REPEAT; r++) list.push(await time(() => api.rule.list({ sandbox: target.name })));

// The naive way: one iptables process per rule, 1,000 rules into a fresh chain.
const naiveChain = egressChain("naive00000");
await execa("iptables", ["-w", "-N", naiveChain]);
t0 = performance.now();
for (let k = 0; k < 1000; k++) {
  const r = ruleOf(k);
  await execa("iptables", ["-w", "-A", naiveChain, "-d", r.peer, "-p", r.protocol, "--dport", r.ports, "-m", "comment", "--comment", `nslab:naive00000:rule:${k}`, "-j", r.action === "accept" ? "RETURN" : "DROP"]);
}
const naiveAll = performance.now() - t0;
// One more rule the naive way into the 1,000-rule chain (one process, positional insert).
const naiveOne: number[] = [];
for (let r = 0; r < REPEAT; r++) {
  naiveOne.push(await time(() => execa("iptables", ["-w", "-I", naiveChain, "500", "-p", "tcp", "--dport", "9000", "-j", "DROP"])));
  await execa("iptables", ["-w", "-D", naiveChain, "500"]);
}
await execa("iptables", ["-w", "-F", naiveChain]);
await execa("iptables", ["-w", "-X", naiveChain]);
// nslab's way for the same 1,000 rules: one rule.replaceAll (one iptables-restore).
const replace: number[] = [];
for (let r = 0; r < Math.min(REPEAT, 5); r++) {
  const { revision } = await api.rule.list({ sandbox: target.name });
  await api.rule.replaceAll({ sandbox: target.name, revision, rules: [] });
  const { revision: rev2 } = await api.rule.list({ sandbox: target.name });
  replace.push(await time(() => api.rule.replaceAll({ sandbox: target.name, revision: rev2, rules: Array.from({ length: 1000 }, (_, k) => ruleOf(k)) })));
}

console.log("");
console.log("rules in target | rule.add  | rule.move | rule.delete   (medians, one change each)");
for (const r of rows) console.log(`${String(r.size).padStart(15)} | ${ms(r.add).padStart(9)} | ${ms(r.move).padStart(9)} | ${ms(r.del).padStart(9)}`);
const first = rows[0]!;
const last = rows[rows.length - 1]!;
console.log(`growth 0 → 1,000 rules: add x${(last.add / first.add).toFixed(2)}, move x${(last.move / first.move).toFixed(2)}, delete x${(last.del / first.del).toFixed(2)}`);
console.log(`rule.list with live counters at 1,000 rules: median ${ms(median(list))}`);
console.log("");
console.log(`1,000 rules, naive (one iptables process per rule): ${ms(naiveAll)} total (${ms(naiveAll / 1000)} per rule)`);
console.log(`1,000 rules, nslab rule.replaceAll (one iptables-restore): median ${ms(median(replace))}  → naive / nslab = x${(naiveAll / median(replace)).toFixed(1)}`);
console.log(`one rule into a 1,000-rule chain, naive (one iptables -I): median ${ms(median(naiveOne))}`);
// The floor: one iptables-restore of a one-line edit, and one `true`, spawned the same way.
const floor: number[] = [];
const spawnOnly: number[] = [];
for (let r = 0; r < REPEAT; r++) {
  floor.push(await time(() => app.runner.run({ argv: ["iptables-restore", "--noflush", "--wait"], input: `*filter\n:NSLAB-BENCH-FLOOR - [0:0]\nCOMMIT\n` })));
  spawnOnly.push(await time(() => app.runner.run({ argv: ["true"] })));
}
console.log(`floor: one iptables-restore (empty chain declaration) median ${ms(median(floor))}; spawning \`true\` median ${ms(median(spawnOnly))}`);
console.log(`load average at the end: ${load()}`);
await removeSandboxes([target, ...others]);
await restoreTables(tablesBefore);
process.exit(0);
