/**
 * Filter rules and published ports with real packets in the private lab (issue 4's
 * "Must show"). The sandboxes are built by server/net/rules-lab-fixture.ts (the base
 * layout of docs/firewall.md); every change goes through the tRPC procedures in-process
 * (the same router, schemas, services and runner the console uses).
 *   node scripts/lab/enter.mjs -- npx vitest run --project lab server/core/rules.lab.test.ts
 */
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TRPCError } from "@trpc/server";
import { lab, requireLab } from "../../test-support/lab";
import { openStore, type Store } from "../store/db";
import { sandboxes } from "../store/schema";
import { EventBus } from "./events";
import { ExecaRunner } from "../net/runner";
import { callerFor } from "../../test-support/caller";
import { errorData } from "../errors";
import type { App } from "../app";
import type { Role } from "./users";
import { filterSpecOf, loadRules, sandboxByName } from "./rules";
import { renderedChainRules, savedChainRules } from "../net/sandbox-chains";
import { savedPortRules } from "../net/ports-nat";
import { buildBaseLayout, buildSandboxes, labSandbox, removeSandboxes, restoreTables, saveTable, snapshotTables, type LabSandbox } from "../net/rules-lab-fixture";
import { probe, startServerIn } from "../net/rules-lab-probe";

requireLab();

let store: Store;
let app: App;
const A = labSandbox(0);
const B = labSandbox(1);
const C = labSandbox(2);
const world = lab.worldAddr;
const worldPort = lab.worldPort;

const caller = (username: string, role: Role) => callerFor(app, username, role);
const alice = () => caller("alice", "operator");

/** The appCode and field names a call fails with. */
async function failure(p: Promise<unknown>): Promise<{ appCode: string; fields: string[] }> {
  try {
    await p;
  } catch (error) {
    const data = errorData(error as TRPCError);
    return { appCode: data.appCode, fields: Object.keys(data.fieldErrors ?? {}) };
  }
  throw new Error("expected the call to fail");
}

/** Everything in the firewall that is not nslab's (people's NSLAB-USER rules count as not ours). */
async function foreignSnapshot(): Promise<string> {
  const keep = (l: string) => !l.includes("NSLAB-") || l.startsWith("-A NSLAB-USER ");
  return (await saveTable("filter")).split("\n").filter(keep).join("\n") + (await saveTable("nat")).split("\n").filter(keep).join("\n");
}

/** The kernel's view of a sandbox's chains equals the rendering of what the store holds. */
async function expectKernelMatchesStore(s: LabSandbox): Promise<void> {
  const row = sandboxByName(store, s.name);
  const saved = await saveTable("filter");
  expect(savedChainRules(saved, s.id)).toEqual(renderedChainRules(filterSpecOf(store, row)));
}

async function revision(name: string): Promise<number> {
  return (await alice().rule.list({ sandbox: name })).revision;
}

/** Empties a sandbox's rules and resets its policy. */
async function reset(s: LabSandbox): Promise<void> {
  await alice().rule.replaceAll({ sandbox: s.name, revision: await revision(s.name), rules: [] });
  const { setPolicy } = await import("./rules");
  await setPolicy(app, { username: "alice", role: "operator" }, { name: s.name, egress: "accept", ingress: "drop" });
}

let foreignBefore = "";
let tablesBefore = "";

beforeAll(async () => {
  // The lab is shared by every lab test file in one run: leave it as found.
  tablesBefore = await snapshotTables();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-rules-lab-"));
  store = openStore(dataDir);
  app = { store, runner: new ExecaRunner(), events: new EventBus() } as unknown as App;
  // Foreign state that must stay byte-identical: a rule in FORWARD, a chain of someone
  // else's, a person's rule in NSLAB-USER, a nat rule.
  await buildBaseLayout(lab.uplinkIf);
  await execa("iptables", ["-w", "-N", "FOREIGN-CHAIN"]);
  await execa("iptables", ["-w", "-A", "FOREIGN-CHAIN", "-s", "192.0.2.0/24", "-m", "comment", "--comment", "not nslab", "-j", "RETURN"]);
  await execa("iptables", ["-w", "-A", "FORWARD", "-d", "198.51.100.7/32", "-j", "FOREIGN-CHAIN"]);
  await execa("iptables", ["-w", "-A", "NSLAB-USER", "-s", "192.0.2.99/32", "-j", "DROP"]);
  await execa("iptables", ["-w", "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "9999", "-j", "REDIRECT", "--to-ports", "9998"]);
  await buildSandboxes([A, B, C]);
  for (const s of [A, B, C]) {
    store
      .insert(sandboxes)
      .values({ id: s.id, name: s.name, owner: "alice", mode: "nat", nat: true, subnet: s.subnet, hostAddress: s.hostAddress, address: s.address, egress: lab.uplinkIf, state: "ready", createdAt: new Date().toISOString() })
      .run();
  }
  foreignBefore = await foreignSnapshot();
});

afterAll(async () => {
  try {
    // Foreign rules untouched across everything above (byte-identical).
    expect(await foreignSnapshot()).toBe(foreignBefore);
  } finally {
    await removeSandboxes([A, B, C]);
    if (tablesBefore) await restoreTables(tablesBefore);
  }
});

describe("filter rules in the kernel", () => {
  it("an egress drop of tcp/8080 to the outside server blocks the GET, counts, and deleting it restores the GET", async () => {
    expect(await probe(A.name, world, worldPort)).toEqual({ kind: "ok", body: lab.uplinkAddr });
    const rule = await alice().rule.add({ sandbox: A.name, direction: "egress", action: "drop", protocol: "tcp", peer: world, ports: String(worldPort), comment: "no web" });
    expect((await probe(A.name, world, worldPort, 1000)).kind).toBe("timeout");
    const listed = await alice().rule.list({ sandbox: A.name });
    const counted = listed.rules.find((r) => r.id === rule.id)!;
    expect(counted.packets).toBeGreaterThan(0);
    expect(counted.bytes).toBeGreaterThan(0);
    expect(counted.comment).toBe("no web");
    await expectKernelMatchesStore(A);
    await alice().rule.delete({ sandbox: A.name, id: rule.id });
    expect(await probe(A.name, world, worldPort)).toEqual({ kind: "ok", body: lab.uplinkAddr });
    await expectKernelMatchesStore(A);
  });

  it("order matters: accept tcp/8080 then drop-all works; moving the drop first blocks", async () => {
    await alice().rule.add({ sandbox: A.name, direction: "egress", action: "accept", protocol: "tcp", ports: "8080", position: 0 });
    const drop = await alice().rule.add({ sandbox: A.name, direction: "egress", action: "drop", position: 1 });
    expect((await probe(A.name, world, worldPort)).kind).toBe("ok");
    await alice().rule.move({ sandbox: A.name, id: drop.id, position: 0 });
    expect((await alice().rule.list({ sandbox: A.name })).rules.map((r) => r.action)).toEqual(["drop", "accept"]);
    expect((await probe(A.name, world, worldPort, 1000)).kind).toBe("timeout");
    await expectKernelMatchesStore(A);
    await reset(A);
  });

  it("reject fails the connection at once (refused), drop lets the client's deadline expire", async () => {
    await alice().rule.add({ sandbox: A.name, direction: "egress", action: "reject", protocol: "tcp", ports: "8080" });
    // The same generous client deadline for both: reject is answered (ECONNREFUSED) long
    // before it; drop is not answered at all.
    expect((await probe(A.name, world, worldPort, 3000)).kind).toBe("refused");
    const { revision: rev } = await alice().rule.list({ sandbox: A.name });
    await alice().rule.replaceAll({ sandbox: A.name, revision: rev, rules: [{ direction: "egress", action: "drop", protocol: "tcp", ports: "8080" }] });
    expect((await probe(A.name, world, worldPort, 3000)).kind).toBe("timeout");
    await reset(A);
  });

  it("policy drop: nothing leaves; a connection its ingress allows still gets replies; only the allowed subnet gets in", async () => {
    const server = await startServerIn(A.name, 8000);
    try {
      const { setPolicy } = await import("./rules");
      await setPolicy(app, { username: "alice", role: "operator" }, { name: A.name, egress: "drop" });
      const listed = await alice().rule.list({ sandbox: A.name });
      expect(listed.policy.egress).toBe("drop");
      expect((await probe(A.name, world, worldPort, 1000)).kind).toBe("timeout");
      expect((await alice().rule.list({ sandbox: A.name })).policy.egressPackets).toBeGreaterThan(0);
      // Ingress: nobody gets in by default (policy drop) ...
      expect((await probe(B.name, A.address, 8000, 1000)).kind).toBe("timeout");
      // ... an accept for B's subnet lets exactly B in; its replies leave despite egress drop.
      await alice().rule.add({ sandbox: A.name, direction: "ingress", action: "accept", protocol: "tcp", peer: B.subnet, ports: "8000" });
      expect(await probe(B.name, A.address, 8000)).toEqual({ kind: "ok", body: B.address });
      expect((await probe(C.name, A.address, 8000, 1000)).kind).toBe("timeout");
      const after = await alice().rule.list({ sandbox: A.name });
      expect(after.policy.ingressPackets).toBeGreaterThan(0);
      // Traffic between sandboxes passes both: B's own egress drop stops it although A lets B in.
      const bDrop = await alice().rule.add({ sandbox: B.name, direction: "egress", action: "drop", peer: A.subnet });
      expect((await probe(B.name, A.address, 8000, 1000)).kind).toBe("timeout");
      await alice().rule.delete({ sandbox: B.name, id: bDrop.id });
      expect(await probe(B.name, A.address, 8000)).toEqual({ kind: "ok", body: B.address });
      await expectKernelMatchesStore(A);
    } finally {
      await server.stop();
      await reset(A);
    }
  });
});

describe("chunk chains in the kernel", () => {
  it("rules past the first 100 keep first-match order, RETURN still means accept, and the policy closes the last chunk", async () => {
    const filler = (k: number) => ({ direction: "egress" as const, action: "drop" as const, protocol: "udp" as const, peer: `10.99.${k % 250}.0/24`, ports: "9" });
    const rules = [
      ...Array.from({ length: 150 }, (_, k) => filler(k)),
      { direction: "egress" as const, action: "accept" as const, protocol: "tcp" as const, peer: world, ports: String(worldPort) },
      { direction: "egress" as const, action: "drop" as const },
      ...Array.from({ length: 100 }, (_, k) => filler(k + 150)),
    ];
    await alice().rule.replaceAll({ sandbox: A.name, revision: await revision(A.name), rules });
    const { setPolicy } = await import("./rules");
    await setPolicy(app, { username: "alice", role: "operator" }, { name: A.name, egress: "drop" });
    const filter = await saveTable("filter");
    expect(filter.split("\n")).toContain(`:NSLAB-E-${A.id}-2 -`);
    expect(filter).not.toContain(`:NSLAB-E-${A.id}-3 `);
    // The accept in chunk 1 lets the GET out (its RETURN skips the drop-all after it and the policy).
    expect(await probe(A.name, world, worldPort)).toEqual({ kind: "ok", body: lab.uplinkAddr });
    const listed = await alice().rule.list({ sandbox: A.name });
    expect(listed.inSync).toBe(true);
    const accept = listed.rules[150]!;
    const dropAll = listed.rules[151]!;
    expect(accept.action).toBe("accept");
    expect(accept.packets).toBeGreaterThan(0);
    // The drop-all moved in front of it blocks.
    await alice().rule.move({ sandbox: A.name, id: dropAll.id, position: 150 });
    expect((await probe(A.name, world, worldPort, 1000)).kind).toBe("timeout");
    // The accept moved to the very end (last chunk, before the policy), the drop-all deleted: passes again.
    await alice().rule.move({ sandbox: A.name, id: accept.id, position: 251 });
    await alice().rule.delete({ sandbox: A.name, id: dropAll.id });
    await expectKernelMatchesStore(A);
    expect(await probe(A.name, world, worldPort)).toEqual({ kind: "ok", body: lab.uplinkAddr });
    // Without it the policy at the end of the last chunk drops.
    await alice().rule.delete({ sandbox: A.name, id: accept.id });
    expect((await probe(A.name, world, worldPort, 1000)).kind).toBe("timeout");
    expect((await alice().rule.list({ sandbox: A.name })).policy.egressPackets).toBeGreaterThan(0);
    await expectKernelMatchesStore(A);

    // An accept from a chunk chain returns to the dispatcher: the receiver's ingress still judges.
    const server = await startServerIn(B.name, 8000);
    try {
      await alice().rule.add({ sandbox: A.name, direction: "egress", action: "accept", protocol: "tcp", peer: B.subnet, ports: "8000" });
      expect((await alice().rule.list({ sandbox: A.name })).rules.at(-1)!.peer).toBe(B.subnet);
      expect((await probe(A.name, B.address, 8000, 1000)).kind).toBe("timeout");
      const bIn = await alice().rule.add({ sandbox: B.name, direction: "ingress", action: "accept", protocol: "tcp", peer: A.subnet, ports: "8000" });
      expect(await probe(A.name, B.address, 8000)).toEqual({ kind: "ok", body: A.address });
      await alice().rule.delete({ sandbox: B.name, id: bIn.id });
    } finally {
      await server.stop();
      await reset(A);
    }
    // The rewrite back to no rules removed the chunk chains.
    expect(await saveTable("filter")).not.toContain(`NSLAB-E-${A.id}-1`);
    await expectKernelMatchesStore(A);
    await expectKernelMatchesStore(B);
  });
});

describe("published ports", () => {
  it("reach a server in the sandbox from the outside world and from the host, and not after delete", async () => {
    const server = await startServerIn(A.name, 8000);
    try {
      // A's ingress policy is drop and it has no rules: published ports pass anyway.
      const port = await alice().port.add({ sandbox: A.name, protocol: "tcp", hostPort: 18080, sandboxPort: 8000 });
      expect(await alice().port.list({ sandbox: A.name })).toEqual([{ id: port.id, protocol: "tcp", hostPort: 18080, sandboxPort: 8000 }]);
      // From the world: DNAT only, so the sandbox sees the world's own address.
      expect(await probe(lab.worldNetns, lab.uplinkAddr, 18080)).toEqual({ kind: "ok", body: lab.worldAddr });
      // From the host itself through nat OUTPUT (via a host address; 127.0.0.1 needs route_localnet).
      expect(await probe(null, lab.uplinkAddr, 18080)).toEqual({ kind: "ok", body: lab.uplinkAddr });
      expect(savedPortRules(await saveTable("nat"))).toEqual([
        `-A NSLAB-PORTS -p tcp -m tcp --dport 18080 -m comment --comment "nslab:${A.id}:port:${port.id}" -j DNAT --to-destination ${A.address}:8000`,
      ]);
      // Taken by another published port, or by a program listening on the host: CONFLICT.
      expect(await failure(alice().port.add({ sandbox: B.name, protocol: "tcp", hostPort: 18080, sandboxPort: 80 }))).toMatchObject({ appCode: "CONFLICT" });
      const listener = net.createServer().listen(18081, "0.0.0.0");
      await new Promise((r) => listener.once("listening", r));
      try {
        const refused = await failure(alice().port.add({ sandbox: B.name, protocol: "tcp", hostPort: 18081, sandboxPort: 80 }));
        expect(refused).toEqual({ appCode: "CONFLICT", fields: ["hostPort"] });
      } finally {
        listener.close();
      }
      await alice().port.delete({ sandbox: A.name, id: port.id });
      expect((await probe(lab.worldNetns, lab.uplinkAddr, 18080)).kind).not.toBe("ok");
      expect((await probe(null, lab.uplinkAddr, 18080)).kind).not.toBe("ok");
      expect(savedPortRules(await saveTable("nat"))).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});

/** A UDP echo inside `ns` on `port`: answers "echo:<text>". */
async function udpEchoIn(ns: string, port: number) {
  const script = `require("dgram").createSocket("udp4").on("message",function(m,r){this.send("echo:"+m,r.port,r.address)}).bind(${port},()=>console.log("ready"))`;
  const child = execa("ip", ["netns", "exec", ns, process.execPath, "-e", script], { reject: false });
  await new Promise<void>((resolve) => child.stdout?.on("data", (d: Buffer) => d.toString().includes("ready") && resolve()));
  return { stop: async () => { child.kill("SIGTERM"); await child; } };
}

/** Sends one UDP datagram from `ns` (null: the host) and reports the answer or "timeout". */
async function udpAsk(ns: string | null, host: string, port: number): Promise<string> {
  const script = `const s=require("dgram").createSocket("udp4");const t=setTimeout(()=>{console.log("timeout");process.exit(0)},1500);s.on("message",m=>{console.log(String(m));process.exit(0)});s.send("hi",${port},"${host}")`;
  const argv = [process.execPath, "-e", script];
  const r = ns ? await execa("ip", ["netns", "exec", ns, ...argv], { reject: false }) : await execa(argv[0]!, argv.slice(1), { reject: false });
  return r.stdout.trim();
}

describe("published UDP ports", () => {
  it("forward UDP from the world, and refuse a port a host UDP socket holds", async () => {
    const echo = await udpEchoIn(C.name, 5353);
    try {
      const port = await alice().port.add({ sandbox: C.name, protocol: "udp", hostPort: 15353, sandboxPort: 5353 });
      expect(await udpAsk(lab.worldNetns, lab.uplinkAddr, 15353)).toBe("echo:hi");
      const held = (await import("node:dgram")).createSocket("udp4");
      await new Promise<void>((r) => held.bind(15354, "0.0.0.0", () => r()));
      try {
        expect(await failure(alice().port.add({ sandbox: C.name, protocol: "udp", hostPort: 15354, sandboxPort: 5353 }))).toEqual({ appCode: "CONFLICT", fields: ["hostPort"] });
      } finally {
        held.close();
      }
      await alice().port.delete({ sandbox: C.name, id: port.id });
      expect(await udpAsk(lab.worldNetns, lab.uplinkAddr, 15353)).not.toBe("echo:hi");
    } finally {
      await echo.stop();
    }
  });
});

describe("scale, input, concurrency, authorization", () => {
  it("a sandbox holding 1,000 rules: add, move and delete one each leave exactly the expected chains", async () => {
    const rules = Array.from({ length: 1000 }, (_, k) => ({
      direction: k % 3 === 0 ? ("ingress" as const) : ("egress" as const),
      action: (["accept", "drop", "reject"] as const)[k % 3]!,
      protocol: (["tcp", "udp"] as const)[k % 2]!,
      peer: `10.${k % 200}.${k % 7}.0/24`,
      ports: String(1000 + k),
    }));
    await alice().rule.replaceAll({ sandbox: B.name, revision: await revision(B.name), rules });
    await expectKernelMatchesStore(B);
    const added = await alice().rule.add({ sandbox: B.name, direction: "egress", action: "reject", protocol: "tcp", ports: "7-9", position: 500 });
    await expectKernelMatchesStore(B);
    expect(loadRules(store, B.id)[500]!.id).toBe(added.id);
    // Written out by hand: laid out 100 rules a chain, 666 egress rules in the head chain
    // and chunks 1-6, 334 ingress rules in the head chain and chunks 1-3, chained by goto.
    const filter = await saveTable("filter");
    const chainsOf = (dir: "E" | "I") => filter.split("\n").filter((l) => l.startsWith(`:NSLAB-${dir}-${B.id}`)).map((l) => l.slice(1).split(" ")[0]).sort();
    expect(chainsOf("E")).toEqual([`NSLAB-E-${B.id}`, ...[1, 2, 3, 4, 5, 6].map((k) => `NSLAB-E-${B.id}-${k}`)]);
    expect(chainsOf("I")).toEqual([`NSLAB-I-${B.id}`, ...[1, 2, 3].map((k) => `NSLAB-I-${B.id}-${k}`)]);
    const linesOf = (chain: string) => filter.split("\n").filter((l) => l.startsWith(`-A ${chain} `));
    expect(linesOf(`NSLAB-E-${B.id}`).at(-1)).toBe(`-A NSLAB-E-${B.id} -m comment --comment "nslab:${B.id}" -g NSLAB-E-${B.id}-1`);
    expect(linesOf(`NSLAB-E-${B.id}-6`).at(-1)).toBe(`-A NSLAB-E-${B.id}-6 -m comment --comment "nslab:${B.id}:policy" -j RETURN`);
    expect(linesOf(`NSLAB-I-${B.id}-3`).at(-1)).toBe(`-A NSLAB-I-${B.id}-3 -m comment --comment "nslab:${B.id}:policy" -j DROP`);
    // The new rule went into the chunk of the egress rule it was inserted before, that chunk alone grew.
    const egressBefore = loadRules(store, B.id).slice(0, 500).filter((r) => r.direction === "egress").length;
    const chunk = Math.floor(egressBefore / 100);
    expect(chunk).toBeGreaterThan(0);
    const savedE = linesOf(`NSLAB-E-${B.id}-${chunk}`);
    expect(savedE).toHaveLength(100 + 1 + 1);
    expect(savedE[egressBefore - 100 * chunk]).toBe(`-A NSLAB-E-${B.id}-${chunk} -p tcp -m tcp --dport 7:9 -m comment --comment "nslab:${B.id}:rule:${added.id}" -j REJECT --reject-with tcp-reset`);
    const moving = loadRules(store, B.id)[10]!;
    await alice().rule.move({ sandbox: B.name, id: moving.id, position: 900 });
    await expectKernelMatchesStore(B);
    expect(loadRules(store, B.id)[900]!.id).toBe(moving.id);
    await alice().rule.delete({ sandbox: B.name, id: added.id });
    await expectKernelMatchesStore(B);
    const listed = await alice().rule.list({ sandbox: B.name });
    expect(listed.rules).toHaveLength(1000);
    expect(listed.rules.every((r, k) => r.position === k)).toBe(true);
    // The other sandboxes' chains were not touched.
    await expectKernelMatchesStore(A);
    await expectKernelMatchesStore(C);
    await reset(B);
  });

  it("drift: when the kernel lost rules, an edit it refuses falls back to rewriting the chains whole", async () => {
    const a = await alice().rule.add({ sandbox: C.name, direction: "egress", action: "drop", protocol: "udp", ports: "5353" });
    const b = await alice().rule.add({ sandbox: C.name, direction: "egress", action: "accept", protocol: "tcp", ports: "22" });
    expect((await alice().rule.list({ sandbox: C.name })).inSync).toBe(true);
    // Someone flushes the sandbox's egress chain by hand.
    await execa("iptables", ["-w", "-F", `NSLAB-E-${C.id}`]);
    const drifted = await alice().rule.list({ sandbox: C.name });
    expect(drifted.inSync).toBe(false);
    expect(drifted.rules.map((r) => r.inKernel)).toEqual([false, false]);
    // Deleting a rule the kernel no longer holds: the -D edit fails, the rewrite repairs.
    await alice().rule.delete({ sandbox: C.name, id: a.id });
    await expectKernelMatchesStore(C);
    expect((await alice().rule.list({ sandbox: C.name })).inSync).toBe(true);
    await alice().rule.delete({ sandbox: C.name, id: b.id });
    await expectKernelMatchesStore(C);
  });

  it("bad input → INPUT_INVALID naming the field, and iptables-save unchanged", async () => {
    const before = (await saveTable("filter")) + (await saveTable("nat"));
    const base = { sandbox: A.name, direction: "egress", action: "drop" } as const;
    const bad: [unknown, string][] = [
      [{ ...base, protocol: "tcp", ports: "0" }, "ports"],
      [{ ...base, protocol: "tcp", ports: "70000" }, "ports"],
      [{ ...base, protocol: "tcp", ports: "9-3" }, "ports"],
      [{ ...base, protocol: "tcp", ports: "1-2-3" }, "ports"],
      [{ ...base, peer: "10.0.0.0/33" }, "peer"],
      [{ ...base, protocol: "sctp;" }, "protocol"],
      [{ ...base, protocol: "icmp", ports: "80" }, "ports"],
      [{ ...base, comment: "line\nbreak" }, "comment"],
      [{ ...base, comment: "x".repeat(201) }, "comment"],
    ];
    for (const [input, field] of bad) {
      const f = await failure(alice().rule.add(input as never));
      expect(f, JSON.stringify(input)).toEqual({ appCode: "INPUT_INVALID", fields: [field] });
    }
    for (const [input, field] of [
      [{ sandbox: A.name, protocol: "tcp", hostPort: 0, sandboxPort: 80 }, "hostPort"],
      [{ sandbox: A.name, protocol: "tcp", hostPort: 70000, sandboxPort: 80 }, "hostPort"],
      [{ sandbox: A.name, protocol: "sctp;", hostPort: 8080, sandboxPort: 80 }, "protocol"],
    ] as const) {
      expect(await failure(alice().port.add(input as never))).toEqual({ appCode: "INPUT_INVALID", fields: [field] });
    }
    const rev = await revision(A.name);
    expect(await failure(alice().rule.replaceAll({ sandbox: A.name, revision: rev, rules: [{ direction: "egress", action: "drop" }, { direction: "egress", action: "drop", ports: "1-2-3" } as never] }))).toEqual({
      appCode: "INPUT_INVALID",
      fields: ["rules.1.ports"],
    });
    expect((await saveTable("filter")) + (await saveTable("nat"))).toBe(before);
    expect(await revision(A.name)).toBe(rev);
  });

  it("two replaceAll with the same revision: one succeeds, the other gets CONFLICT", async () => {
    const rev = await revision(C.name);
    const results = await Promise.allSettled([
      alice().rule.replaceAll({ sandbox: C.name, revision: rev, rules: [{ direction: "egress", action: "drop", protocol: "udp", ports: "53" }] }),
      caller("admin", "admin").rule.replaceAll({ sandbox: C.name, revision: rev, rules: [{ direction: "ingress", action: "accept" }] }),
    ]);
    const ok = results.filter((r) => r.status === "fulfilled");
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(ok).toHaveLength(1);
    expect(failed).toHaveLength(1);
    expect(errorData(failed[0]!.reason as TRPCError).appCode).toBe("CONFLICT");
    await expectKernelMatchesStore(C);
  });

  it("operators change their own sandboxes' rules, admins any, viewers only read", async () => {
    const rule = { sandbox: C.name, direction: "egress", action: "drop" } as const;
    const before = await saveTable("filter");
    expect((await failure(caller("bob", "operator").rule.add(rule))).appCode).toBe("FORBIDDEN");
    expect((await failure(caller("vic", "viewer").rule.add(rule))).appCode).toBe("FORBIDDEN");
    expect((await failure(caller("bob", "operator").port.add({ sandbox: C.name, protocol: "tcp", hostPort: 18090, sandboxPort: 80 }))).appCode).toBe("FORBIDDEN");
    expect(await saveTable("filter")).toBe(before);
    expect((await caller("vic", "viewer").rule.list({ sandbox: C.name })).rules.length).toBeGreaterThanOrEqual(0);
    const added = await caller("admin", "admin").rule.add(rule);
    await caller("admin", "admin").rule.delete({ sandbox: C.name, id: added.id });
    expect((await failure(alice().rule.list({ sandbox: "no-such" }))).appCode).toBe("NOT_FOUND");
  });
});
