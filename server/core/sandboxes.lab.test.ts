/**
 * The sandbox engine with real namespaces, veths, iptables and packets in the private
 * lab (issue 3's "Must show"). Calls go through the tRPC router in-process (the same
 * schemas, services, runner and kernel the console uses), with an App built here so
 * the runner's log can be read and failures injected.
 *   node scripts/lab/enter.mjs -- npx vitest run --project lab server/core/sandboxes.lab.test.ts
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { lab, requireLab } from "../../test-support/lab";
import { addressesIn, labRun, makeApp, ping, snapshot, type LabRunner } from "../../test-support/engine-lab";
import { probe, startServerIn } from "../net/rules-lab-probe";
import { callerFor } from "../../test-support/caller";
import { errorData, toTRPCError } from "../errors";
import type { App } from "../app";
import type { Role } from "./users";
import { sandboxes } from "../store/schema";
import { reconcile } from "./reconcile";
import { hostIfName } from "../net/names";

requireLab();

let app: App & { runner: LabRunner };
const world = lab.worldAddr;
const port = lab.worldPort;

const caller = (username: string, role: Role) => callerFor(app, username, role);
const admin = () => caller("admin", "admin");
const alice = () => caller("alice", "operator");

async function failure(p: Promise<unknown>): Promise<{ appCode: string; message: string; detail?: Record<string, unknown> }> {
  try {
    await p;
  } catch (error) {
    const data = errorData(toTRPCError(error instanceof Error && "cause" in error && error.cause ? error.cause : error));
    return { appCode: data.appCode, message: (error as Error).message, detail: data.detail as Record<string, unknown> | undefined };
  }
  throw new Error("expected a failure");
}

/** Foreign state made by hand before the console starts: must come out byte-identical. */
const FOREIGN_NS = "handmade";
async function makeForeign() {
  await labRun("ip", ["netns", "add", FOREIGN_NS]);
  await labRun("iptables", ["-A", "FORWARD", "-s", "198.51.100.7/32", "-j", "ACCEPT"]);
  await labRun("iptables", ["-N", "FOREIGN-CHAIN"]);
  await labRun("iptables", ["-A", "FOREIGN-CHAIN", "-s", "198.51.100.0/24", "-j", "DROP"]);
  await labRun("iptables", ["-t", "nat", "-A", "POSTROUTING", "-s", "198.51.100.0/24", "-j", "RETURN"]);
}
/** Everything in the firewall that is not nslab's, plus the foreign namespace. */
async function foreignView() {
  const save = await labRun("iptables-save", []);
  const lines = save
    .split("\n")
    .filter((l) => !l.startsWith("#") && !l.includes("NSLAB") && !l.includes("nslab"))
    .map((l) => l.replace(/\[\d+:\d+\]/, ""));
  return { lines, netns: (await labRun("ip", ["netns", "list"])).split("\n").filter((l) => l.startsWith(FOREIGN_NS)) };
}
let foreignBefore: Awaited<ReturnType<typeof foreignView>>;

/** Every sandbox row's name. */
const storedNames = () => app.store.select().from(sandboxes).all().map((r) => r.name).sort();

beforeAll(async () => {
  await makeForeign();
  foreignBefore = await foreignView();
  app = makeApp();
  // What the console does at start: lay down the base layout, enable forwarding, reconcile.
  await reconcile(app, { by: "system", force: true });
});

afterAll(async () => {
  if (!app) return;
  const names = storedNames();
  if (names.length) await admin().sandbox.deleteMany({ names });
  expect(await foreignView()).toEqual(foreignBefore);
  await labRun("ip", ["netns", "del", FOREIGN_NS]).catch(() => undefined);
  await labRun("iptables", ["-D", "FORWARD", "-s", "198.51.100.7/32", "-j", "ACCEPT"]).catch(() => undefined);
  await labRun("iptables", ["-F", "FOREIGN-CHAIN"]).catch(() => undefined);
  await labRun("iptables", ["-X", "FOREIGN-CHAIN"]).catch(() => undefined);
  await labRun("iptables", ["-t", "nat", "-D", "POSTROUTING", "-s", "198.51.100.0/24", "-j", "RETURN"]).catch(() => undefined);
  app.store.$client.close();
});

describe("modes, with real packets", () => {
  it("NAT: the outside world sees the uplink's address, not the sandbox's", async () => {
    const s = await alice().sandbox.create({ name: "nat1" });
    expect(s).toMatchObject({ name: "nat1", mode: "nat", nat: true, egress: lab.uplinkIf, status: "ok" });
    expect(s.subnet).toMatch(/^10\.200\.\d+\.\d+\/30$/);
    const got = await probe("nat1", world, port);
    expect(got).toEqual({ kind: "ok", body: lab.uplinkAddr });
    // The sandbox's own view: eth0 with .2 and a default route via the host end.
    const inside = await addressesIn("nat1");
    expect(inside).toEqual(expect.arrayContaining([{ ifname: "eth0", addresses: [`${s.address}/30`] }, { ifname: "lo", addresses: ["127.0.0.1/8"] }]));
    const fetched = await admin().sandbox.get({ name: "nat1" });
    expect(fetched.status).toBe("ok");
    expect(fetched.interfaces).toEqual([{ name: "eth0", hostName: hostIfName(s.id), addresses: [`${s.address}/30`] }]);
  });

  it("routed: without NAT the world sees the sandbox's own address", async () => {
    const s = await alice().sandbox.create({ name: "routed1", mode: "routed" });
    expect(s.nat).toBe(false);
    expect(await probe("routed1", world, port)).toEqual({ kind: "ok", body: s.address });
  });

  it("isolated: only loopback, nothing reachable", async () => {
    const s = await alice().sandbox.create({ name: "iso1", mode: "isolated" });
    expect(s).toMatchObject({ subnet: null, address: null, interfaces: [] });
    expect(await addressesIn("iso1")).toEqual([{ ifname: "lo", addresses: ["127.0.0.1/8"] }]);
    expect((await probe("iso1", world, port, 500)).kind).toBe("error"); // ENETUNREACH
  });

  it("DNS: resolv.conf is written for the namespace and removed with it", async () => {
    await alice().sandbox.create({ name: "dns1", dns: ["192.0.2.53", "192.0.2.54"] });
    const r = await labRun("ip", ["netns", "exec", "dns1", "cat", "/etc/resolv.conf"]);
    expect(r).toContain("nameserver 192.0.2.53\nnameserver 192.0.2.54");
    await alice().sandbox.delete({ name: "dns1" });
    expect((await snapshot()).etcNetns).not.toContain("dns1");
  });
});

describe("isolation (default deny)", () => {
  let server: { stop: () => Promise<void> } | null = null;
  let hostServer: net.Server | null = null;
  afterAll(async () => {
    await server?.stop();
    hostServer?.close();
  });

  it("another sandbox cannot open TCP to a server in the first; the host cannot be reached; ping to the gateway works", async () => {
    const a = await alice().sandbox.get({ name: "nat1" });
    const b = await alice().sandbox.create({ name: "nat2" });
    server = await startServerIn("nat1", 9000);
    // The server is up: from inside its own namespace it answers.
    expect((await probe("nat1", "127.0.0.1", 9000)).kind).toBe("ok");
    // From the other sandbox (NAT and routed): dropped.
    expect((await probe("nat2", a.address!, 9000, 800)).kind).toBe("timeout");
    expect((await probe("routed1", a.address!, 9000, 800)).kind).toBe("timeout");
    // A stand-in for the console's port on the host, listening on every address.
    hostServer = net.createServer((s) => s.end("console\n"));
    await new Promise<void>((resolve) => hostServer!.listen(0, "0.0.0.0", resolve));
    const consolePort = (hostServer.address() as net.AddressInfo).port;
    expect((await probe(null, a.hostAddress!, consolePort)).kind).toBe("ok"); // the host itself can
    for (const address of [a.hostAddress!, b.hostAddress!, lab.uplinkAddr, "127.0.0.1"]) {
      expect((await probe("nat1", address, consolePort, 800)).kind, address).not.toBe("ok");
    }
    // Ping: own gateway yes; another sandbox's gateway, the uplink address and the other sandbox no.
    expect(await ping("nat1", a.hostAddress!)).toBe(`reply ${a.hostAddress}`);
    expect(await ping("nat1", b.hostAddress!)).toBe("timeout");
    expect(await ping("nat1", lab.uplinkAddr)).toBe("timeout");
    expect(await ping("nat2", a.address!)).toBe("timeout");
    // Replies to what the sandbox opened come back (NAT to the world still works).
    expect(await probe("nat2", world, port)).toEqual({ kind: "ok", body: lab.uplinkAddr });
  });

  it("setPolicy ingress accept lets the other sandbox in", async () => {
    const a = await alice().sandbox.get({ name: "nat1" });
    await alice().sandbox.setPolicy({ name: "nat1", ingress: "accept" });
    expect((await probe("nat2", a.address!, 9000)).kind).toBe("ok");
    await alice().sandbox.setPolicy({ name: "nat1", ingress: "drop" });
    expect((await probe("nat2", a.address!, 9000, 800)).kind).toBe("timeout");
    expect((await admin().sandbox.get({ name: "nat1" })).status).toBe("ok");
  });
});

describe("lifecycle", () => {
  it("round trip: five sandboxes in every mode created and deleted leave the host as it was", async () => {
    const before = await snapshot();
    const made = await alice().sandbox.createMany({
      sandboxes: [
        { name: "rt-nat" },
        { name: "rt-dns", dns: ["192.0.2.53"] },
        { name: "rt-routed", mode: "routed" },
        { name: "rt-iso", mode: "isolated" },
        { name: "rt-subnet", subnet: "10.250.7.0/24" },
      ],
    });
    expect(made.map((s) => s.name)).toEqual(["rt-nat", "rt-dns", "rt-routed", "rt-iso", "rt-subnet"]);
    expect(made[4]).toMatchObject({ hostAddress: "10.250.7.1", address: "10.250.7.2" });
    expect(await probe("rt-subnet", world, port)).toEqual({ kind: "ok", body: lab.uplinkAddr });
    const mid = await snapshot();
    expect(mid.netns).toContain("rt-nat");
    // Two deleted one by one, three in one deleteMany.
    await alice().sandbox.delete({ name: "rt-nat" });
    await alice().sandbox.delete({ name: "rt-iso" });
    await alice().sandbox.deleteMany({ names: ["rt-dns", "rt-routed", "rt-subnet"] });
    expect(await snapshot()).toEqual(before);
  });

  it("create twice → NAME_TAKEN; delete twice → ok; a foreign namespace's name → NAME_TAKEN", async () => {
    await alice().sandbox.create({ name: "twice" });
    expect((await failure(alice().sandbox.create({ name: "twice" }))).appCode).toBe("NAME_TAKEN");
    expect((await failure(alice().sandbox.create({ name: FOREIGN_NS }))).appCode).toBe("NAME_TAKEN");
    expect(await alice().sandbox.delete({ name: "twice" })).toMatchObject({ ok: true, deleted: ["twice"] });
    expect(await alice().sandbox.delete({ name: "twice" })).toMatchObject({ ok: true, alreadyGone: ["twice"] });
  });

  it("deleting a half-built sandbox (left 'creating', veth and chains gone) succeeds and leaves nothing", async () => {
    const before = await snapshot();
    const s = await alice().sandbox.create({ name: "half" });
    app.store.update(sandboxes).set({ state: "creating" }).where(eq(sandboxes.id, s.id)).run();
    await labRun("ip", ["link", "del", hostIfName(s.id)]);
    await labRun("iptables", ["-F", `NSLAB-E-${s.id}`]);
    expect((await admin().sandbox.get({ name: "half" })).status).toBe("drift");
    expect(await alice().sandbox.delete({ name: "half" })).toMatchObject({ ok: true });
    expect(await snapshot()).toEqual(before);
    expect(storedNames()).not.toContain("half");
  });
});

describe("authorization", () => {
  it("viewers read but cannot create or delete; operators cannot touch others' sandboxes; admins can", async () => {
    const viewer = caller("vera", "viewer");
    const bob = caller("bob", "operator");
    const from = app.runner.log.length;
    expect((await failure(viewer.sandbox.create({ name: "v1" }))).appCode).toBe("FORBIDDEN");
    expect((await failure(viewer.sandbox.delete({ name: "nat1" }))).appCode).toBe("FORBIDDEN");
    expect((await failure(bob.sandbox.delete({ name: "nat1" }))).appCode).toBe("FORBIDDEN");
    expect((await failure(bob.sandbox.deleteMany({ names: ["nat2", "nat1"] }))).appCode).toBe("FORBIDDEN");
    expect((await failure(bob.sandbox.setPolicy({ name: "nat1", egress: "drop" }))).appCode).toBe("FORBIDDEN");
    expect(app.runner.log.length).toBe(from); // nothing ran
    expect((await viewer.sandbox.list()).sandboxes.map((s) => s.name)).toContain("nat1");
    const s = await bob.sandbox.create({ name: "bobs" });
    expect(s.owner).toBe("bob");
    await admin().sandbox.delete({ name: "bobs" });
  });
});

describe("bad input is refused before anything runs", () => {
  const names = ["Alpha", "-rf", "a;reboot", "../etc", "a b", "$(id)", "a".repeat(40), ""];
  it.each(names)("name %j → NAME_INVALID", async (name) => {
    const from = app.runner.log.length;
    const f = await failure(alice().sandbox.create({ name }));
    expect(f.appCode).toBe("NAME_INVALID");
    expect((await failure(alice().sandbox.createMany({ sandboxes: [{ name: "ok-name" }, { name }] }))).appCode).toBe("NAME_INVALID");
    expect((await failure(alice().sandbox.delete({ name }))).appCode).toBe("NAME_INVALID");
    expect(app.runner.log.length).toBe(from);
  });

  it.each(["10.0.0.0/33", "999.1.1.1/30", "10.0.0.1/30", "10.0.0.0", "x"])("subnet %j → INPUT_INVALID", async (subnet) => {
    const from = app.runner.log.length;
    expect((await failure(alice().sandbox.create({ name: "sub", subnet }))).appCode).toBe("INPUT_INVALID");
    expect(app.runner.log.length).toBe(from);
  });

  it("other bad fields → INPUT_INVALID (unknown field, egress, dns, contradicting nat)", async () => {
    const from = app.runner.log.length;
    for (const input of [
      { name: "x1", bogus: 1 },
      { name: "x1", egress: "-eth0" },
      { name: "x1", egress: "eth0;id" },
      { name: "x1", dns: ["1.2.3.4; rm"] },
      { name: "x1", mode: "bridge" },
    ]) {
      expect((await failure(alice().sandbox.create(input as never))).appCode, JSON.stringify(input)).toBe("INPUT_INVALID");
    }
    expect(app.runner.log.length).toBe(from);
    // Valid shape, refused on meaning: only reads ran, no change.
    expect((await failure(alice().sandbox.create({ name: "x1", mode: "routed", nat: true }))).appCode).toBe("INPUT_INVALID");
    expect((await failure(alice().sandbox.create({ name: "x1", egress: "nosuch0" }))).appCode).toBe("INPUT_INVALID");
    expect(app.runner.changesSince(from)).toEqual([]);
  });

  it("a subnet overlapping the host's addresses or another sandbox → ADDRESS_CONFLICT, nothing changed", async () => {
    const from = app.runner.log.length;
    const nat1 = await alice().sandbox.get({ name: "nat1" });
    for (const subnet of ["203.0.113.0/30", "203.0.113.8/29", "127.0.0.0/30", nat1.subnet!]) {
      const f = await failure(alice().sandbox.create({ name: "sub", subnet }));
      expect(f.appCode, subnet).toBe("ADDRESS_CONFLICT");
    }
    // get ran its two reads; the refused creates ran nothing at all (the fast path reads /proc).
    expect(app.runner.log.slice(from).map((c) => c.argv[0])).toEqual(["ip", "iptables-save"]);
    expect(storedNames()).not.toContain("sub");
  });

  it("POOL_EXHAUSTED when the pool has no free /30", async () => {
    const small = makeApp({ NSLAB_POOL: "10.200.0.0/30" });
    try {
      // 10.200.0.0/30 is taken by an existing sandbox (the host route shows it).
      const c = callerFor(small, "admin", "admin");
      expect((await failure(c.sandbox.create({ name: "nope" }))).appCode).toBe("POOL_EXHAUSTED");
      expect(small.runner.changesSince(0)).toEqual([]);
    } finally {
      small.store.$client.close();
    }
  });
});

describe("fault injection: a failure at any step undoes everything", () => {
  const batch = [
    { name: "fi-nat", dns: ["192.0.2.53"] },
    { name: "fi-routed", mode: "routed" as const },
    { name: "fi-iso", mode: "isolated" as const },
  ];
  // Changes of this plan: host batch, 3 namespace batches, one restore (filter + nat sections).
  const STEPS = 5;
  for (let k = 0; k < STEPS; k++) {
    // "after": the command ran (a batch half done, or a restore whose filter part landed), then failed.
    for (const mode of ["before", "after"] as const) {
      it(`step ${k} fails (${mode} running it) → host as before, store without the sandboxes`, async () => {
        const before = await snapshot();
        const rows = storedNames();
        app.runner.arm(k, mode);
        const f = await failure(alice().sandbox.createMany({ sandboxes: batch }));
        app.runner.disarm();
        expect(f.appCode).toBe("APPLY_FAILED");
        expect(f.detail?.command).toBeInstanceOf(Array);
        expect(String(f.detail?.stderr)).toContain(`injected failure at change ${k}`);
        expect(await snapshot()).toEqual(before);
        expect(storedNames()).toEqual(rows);
      });
    }
  }

  it("a real kernel refusal (the namespace vanished before its batch) is undone too, with ip's stderr", async () => {
    const before = await snapshot();
    const wrapped = app.runner;
    const origRun = wrapped.run.bind(wrapped);
    wrapped.run = async (c) => {
      if (c.argv.join(" ") === "ip -n vanish1 -batch -") await labRun("ip", ["netns", "del", "vanish1"]);
      return origRun(c);
    };
    try {
      const f = await failure(alice().sandbox.create({ name: "vanish1" }));
      expect(f.appCode).toBe("APPLY_FAILED");
      expect(f.detail?.command).toEqual(["ip", "-n", "vanish1", "-batch", "-"]);
      expect(String(f.detail?.stderr)).toMatch(/vanish1/);
    } finally {
      wrapped.run = origRun;
    }
    expect(await snapshot()).toEqual(before);
    expect(storedNames()).not.toContain("vanish1");
  });
});

describe("fault injection on delete: a failed delete leaves the sandbox as it was", () => {
  const cases = [
    { step: "firewall", match: (input: string) => input.includes("-D NSLAB-EGRESS"), mode: "before" as const },
    { step: "namespaces", match: (input: string) => input.includes("netns del fd-"), mode: "before" as const },
    { step: "namespaces", match: (input: string) => input.includes("netns del fd-"), mode: "after" as const },
  ];
  for (const c of cases) {
    it(`the ${c.step} step fails (${c.mode} running it) → APPLY_FAILED, still stored, still working`, async () => {
      await alice().sandbox.createMany({ sandboxes: [{ name: "fd-a" }, { name: "fd-b", mode: "routed" }, { name: "fd-c", mode: "isolated" }] });
      const before = await snapshot();
      app.runner.failWhen((cmd) => !!cmd.input && c.match(cmd.input), c.mode);
      let f: Awaited<ReturnType<typeof failure>>;
      try {
        f = await failure(alice().sandbox.deleteMany({ names: ["fd-a", "fd-b", "fd-c"] }));
      } finally {
        app.runner.disarm();
      }
      expect(f.appCode).toBe("APPLY_FAILED");
      expect(f.detail?.stderr).toBe("injected failure (matching command)");
      const list = await admin().sandbox.list();
      const mine = list.sandboxes.filter((s) => s.name.startsWith("fd-"));
      expect(mine.map((s) => `${s.name}:${s.status}`)).toEqual(["fd-a:ok", "fd-b:ok", "fd-c:ok"]);
      if (c.mode === "before") expect(await snapshot()).toEqual(before);
      const a = mine[0]!;
      expect(await probe("fd-a", world, port)).toEqual({ kind: "ok", body: lab.uplinkAddr });
      expect(await ping("fd-a", a.hostAddress!)).toBe(`reply ${a.hostAddress}`);
      expect(await probe("fd-b", world, port)).toEqual({ kind: "ok", body: mine[1]!.address });
      await alice().sandbox.deleteMany({ names: ["fd-a", "fd-b", "fd-c"] });
      expect(storedNames().filter((n) => n.startsWith("fd-"))).toEqual([]);
    });
  }
});

describe("drift and reconcile", () => {
  it("flushed chains are reported as drift and restored by reconcile; the sandbox works again", async () => {
    const a = await alice().sandbox.get({ name: "nat1" });
    await labRun("iptables", ["-F", "NSLAB-EGRESS"]);
    await labRun("iptables", ["-F", `NSLAB-I-${a.id}`]);
    await labRun("iptables", ["-t", "nat", "-F", "NSLAB-POSTROUTING"]);
    const drifted = await alice().sandbox.get({ name: "nat1" });
    expect(drifted.status).toBe("drift");
    expect(drifted.statusDetail).toContain("NSLAB-EGRESS rule missing");
    expect(await probe("nat1", world, port, 800)).not.toEqual({ kind: "ok", body: lab.uplinkAddr });
    const events: string[] = [];
    const ac = new AbortController();
    const watching = (async () => {
      for await (const e of app.events.subscribe(ac.signal)) events.push(`${e.type}:${e.sandbox ?? ""}`);
    })();
    const report = await admin().host.reconcile();
    ac.abort();
    await watching;
    expect(report.drift.map((d) => d.sandbox)).toEqual(expect.arrayContaining(["nat1", "nat2"]));
    expect(report.repaired.map((r) => r.sandbox)).toEqual(expect.arrayContaining(["nat1", "nat2"]));
    expect(events).toContain("sandbox.drift:nat1");
    expect(events).toContain("sandbox.repaired:nat1");
    expect((await alice().sandbox.get({ name: "nat1" })).status).toBe("ok");
    expect(await probe("nat1", world, port)).toEqual({ kind: "ok", body: lab.uplinkAddr });
    // Isolation is back too.
    expect(await ping("nat2", a.address!)).toBe("timeout");
    // A second pass finds nothing.
    const again = await admin().host.reconcile();
    expect(again).toMatchObject({ repaired: [], removed: [], drift: [], base: [] });
  });

  it("a veth deleted by hand is recreated by reconcile and the sandbox works again", async () => {
    const a = await alice().sandbox.get({ name: "nat1" });
    await labRun("ip", ["link", "del", hostIfName(a.id)]);
    expect((await alice().sandbox.get({ name: "nat1" })).statusDetail).toBe("veth missing");
    const report = await admin().host.reconcile();
    expect(report.repaired).toEqual([{ sandbox: "nat1", what: "veth missing" }]);
    expect(await probe("nat1", world, port)).toEqual({ kind: "ok", body: lab.uplinkAddr });
    expect(await ping("nat1", a.hostAddress!)).toBe(`reply ${a.hostAddress}`);
  });

  it("a namespace deleted by hand comes back; base jumps removed by hand come back first in their chains", async () => {
    await labRun("ip", ["netns", "del", "routed1"]);
    await labRun("iptables", ["-D", "FORWARD", "-j", "NSLAB-FORWARD"]);
    await labRun("iptables", ["-A", "FORWARD", "-j", "NSLAB-FORWARD"]); // now after the foreign rule
    await labRun("iptables", ["-t", "nat", "-D", "POSTROUTING", "-j", "NSLAB-POSTROUTING"]);
    const info = await admin().host.info();
    expect(info.warnings.join("\n")).toContain("FORWARD has rules before nslab's jump");
    expect(info.warnings.join("\n")).toContain("POSTROUTING has no jump");
    const report = await admin().host.reconcile();
    expect(report.repaired.map((r) => r.sandbox)).toContain("routed1");
    expect(report.base.length).toBeGreaterThan(0);
    const s = await alice().sandbox.get({ name: "routed1" });
    expect(await probe("routed1", world, port)).toEqual({ kind: "ok", body: s.address });
    const forward = (await labRun("iptables", ["-S", "FORWARD"])).split("\n");
    expect(forward[1]).toBe("-A FORWARD -j NSLAB-FORWARD");
    expect(forward.filter((l) => l.includes("NSLAB-FORWARD")).length).toBe(1); // one jump, no duplicate
    expect((await admin().host.info()).warnings).toEqual([]);
  });

  it("a create after nslab's chains were deleted by hand repairs the base layout first and works", async () => {
    await labRun("iptables", ["-F", "NSLAB-FORWARD"]);
    await labRun("iptables", ["-F", "NSLAB-INPUT"]);
    await labRun("iptables", ["-F", "NSLAB-GATEWAY"]);
    await labRun("iptables", ["-X", "NSLAB-GATEWAY"]);
    const s = await alice().sandbox.create({ name: "afterbreak" });
    expect(await probe("afterbreak", world, port)).toEqual({ kind: "ok", body: lab.uplinkAddr });
    expect(await ping("afterbreak", s.hostAddress!)).toBe(`reply ${s.hostAddress}`);
    expect((await alice().sandbox.get({ name: "afterbreak" })).status).toBe("ok");
    // The other sandboxes' gateway lines went with the chain: reconcile brings them back.
    const report = await admin().host.reconcile();
    expect(report.repaired.map((r) => r.sandbox)).toContain("nat1");
    expect(await ping("nat1", (await alice().sandbox.get({ name: "nat1" })).hostAddress!)).toMatch(/^reply/);
    await alice().sandbox.delete({ name: "afterbreak" });
  });

  it("removes nslab-marked objects the store does not want, never unmarked ones", async () => {
    const id = "szzzzzzzz9";
    await labRun("ip", ["netns", "add", "orphan1"]);
    await labRun("ip", ["link", "add", hostIfName(id), "type", "veth", "peer", "name", "eth0", "netns", "orphan1"]);
    await labRun("ip", ["link", "set", "dev", hostIfName(id), "alias", `nslab:${id}`]);
    await labRun("ip", ["link", "add", "nslhand", "type", "veth", "peer", "name", "nslhand-p"]); // looks like ours, is not marked
    await labRun("iptables", ["-N", `NSLAB-E-${id}`]);
    await labRun("iptables", ["-A", "NSLAB-EGRESS", "-i", hostIfName(id), "-m", "comment", "--comment", `nslab:${id}`, "-j", `NSLAB-E-${id}`]);
    const report = await admin().host.reconcile();
    expect(report.removed.map((r) => r.object).sort()).toEqual([`chain NSLAB-E-${id}`, "filter NSLAB-EGRESS rule", `link ${hostIfName(id)}`, "namespace orphan1"].sort());
    const after = await snapshot();
    expect(after.netns).not.toContain("orphan1");
    expect(after.iptables).not.toContain(id);
    expect(after.links).toContain("nslhand");
    expect(after.netns).toContain(FOREIGN_NS);
    await labRun("ip", ["link", "del", "nslhand"]);
  });
});

describe("chunk chains (more than 100 rules a direction)", () => {
  it("reconcile compares and removes chunk chains; deleting the sandbox removes them all", async () => {
    const before = await snapshot();
    const s = await alice().sandbox.create({ name: "chunky" });
    const rules = Array.from({ length: 250 }, (_, k) => ({ direction: (k % 5 ? "egress" : "ingress") as "egress" | "ingress", action: "drop" as const, protocol: "udp" as const, ports: String(2000 + k) }));
    await alice().rule.replaceAll({ sandbox: "chunky", revision: 0, rules });
    const chains = async () =>
      (await labRun("iptables-save", ["-t", "filter"])).split("\n").filter((l) => l.startsWith(":") && l.includes(s.id)).map((l) => l.slice(1).split(" ")[0]).sort();
    // 200 egress rules: head + chunk 1; 50 ingress rules: head only.
    expect(await chains()).toEqual([`NSLAB-E-${s.id}`, `NSLAB-E-${s.id}-1`, `NSLAB-I-${s.id}`]);
    expect((await admin().host.reconcile()).drift).toEqual([]);
    // A rule flushed out of a chunk chain, and a chunk chain the store's layout does not have.
    await labRun("iptables", ["-F", `NSLAB-E-${s.id}-1`]);
    await labRun("iptables", ["-N", `NSLAB-E-${s.id}-7`]);
    await labRun("iptables", ["-A", `NSLAB-E-${s.id}-7`, "-m", "comment", "--comment", `nslab:${s.id}`, "-j", "DROP"]);
    expect((await alice().rule.list({ sandbox: "chunky" })).inSync).toBe(false);
    const report = await admin().host.reconcile();
    expect(report.drift).toEqual([{ sandbox: "chunky", problems: [`chain NSLAB-E-${s.id}-1 differs`, `chain NSLAB-E-${s.id}-7 not in the store`] }]);
    expect(await chains()).toEqual([`NSLAB-E-${s.id}`, `NSLAB-E-${s.id}-1`, `NSLAB-I-${s.id}`]);
    expect((await alice().rule.list({ sandbox: "chunky" })).inSync).toBe(true);
    expect((await admin().host.reconcile()).drift).toEqual([]);
    // A chunk chain of a sandbox the store does not have goes too.
    await labRun("iptables", ["-N", "NSLAB-I-szzzzzzzz8-3"]);
    expect((await admin().host.reconcile()).removed).toContainEqual({ object: "chain NSLAB-I-szzzzzzzz8-3", what: "chain of a sandbox (szzzzzzzz8) the store does not have" });
    // Delete: its chunk chains go with it, the host is as it was.
    await alice().sandbox.delete({ name: "chunky" });
    expect(await chains()).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });
});

describe("drift in the middle of a chain, and published ports", () => {
  it("two rules reordered by hand (iptables-restore) are drift; host.reconcile restores the store's order", async () => {
    const s = await alice().sandbox.get({ name: "nat1" });
    const chain = `NSLAB-E-${s.id}`;
    const r1 = await alice().rule.add({ sandbox: "nat1", direction: "egress", action: "drop", protocol: "tcp", ports: "1001" });
    const r2 = await alice().rule.add({ sandbox: "nat1", direction: "egress", action: "accept", protocol: "udp", ports: "1002" });
    const chainLines = async () => (await labRun("iptables-save", ["-t", "filter"])).split("\n").filter((l) => l.startsWith(`-A ${chain} `));
    const before = await chainLines();
    expect(before).toHaveLength(4); // conntrack, r1, r2, policy
    // Same length and the same last line: only the middle differs.
    await labRun("iptables-restore", ["--noflush", "--wait"], `*filter\n:${chain} - [0:0]\n${[before[0], before[2], before[1], before[3]].join("\n")}\nCOMMIT\n`);
    expect((await alice().rule.list({ sandbox: "nat1" })).inSync).toBe(false);
    expect((await alice().sandbox.get({ name: "nat1" })).statusDetail).toBe(`chain ${chain} differs`);
    const report = await admin().host.reconcile();
    expect(report.drift).toEqual([{ sandbox: "nat1", problems: [`chain ${chain} differs`] }]);
    expect(report.repaired).toEqual([{ sandbox: "nat1", what: `chain ${chain} differs` }]);
    expect(await chainLines()).toEqual(before);
    expect((await alice().rule.list({ sandbox: "nat1" })).inSync).toBe(true);
    expect((await admin().host.reconcile()).drift).toEqual([]);
    await alice().rule.delete({ sandbox: "nat1", id: r1.id });
    await alice().rule.delete({ sandbox: "nat1", id: r2.id });
  });

  it("a published port flushed by hand comes back with host.reconcile, and a second pass finds nothing", async () => {
    const p = await alice().port.add({ sandbox: "nat1", protocol: "tcp", hostPort: 18090, sandboxPort: 80 });
    const portLines = async () => (await labRun("iptables-save", ["-t", "nat"])).split("\n").filter((l) => l.startsWith("-A NSLAB-PORTS "));
    const before = await portLines();
    expect(before.join("\n")).toContain(`port:${p.id}`);
    await labRun("iptables", ["-t", "nat", "-F", "NSLAB-PORTS"]);
    const report = await admin().host.reconcile();
    expect(report.ports).toEqual([`nat chain NSLAB-PORTS rewritten from the store: it held 0 line(s), the store has ${before.length} published port(s)`]);
    expect(await portLines()).toEqual(before);
    expect((await admin().host.reconcile()).ports).toEqual([]);
    await alice().port.delete({ sandbox: "nat1", id: p.id });
    expect(await portLines()).toEqual([]);
  });
});

describe("foreign namespaces and adopt", () => {
  it("list() shows foreign namespaces; adopt takes one under management as it is", async () => {
    await labRun("ip", ["netns", "add", "adoptme"]);
    await labRun("ip", ["-n", "adoptme", "link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
    const list = await alice().sandbox.list();
    expect(list.foreign.map((f) => f.name)).toEqual(expect.arrayContaining([FOREIGN_NS, "adoptme", lab.worldNetns]));
    expect(list.sandboxes.map((s) => s.name)).not.toContain("adoptme");
    const from = app.runner.log.length;
    const adopted = await alice().sandbox.adopt({ name: "adoptme" });
    expect(adopted).toMatchObject({ name: "adoptme", owner: "alice", adopted: true, mode: "isolated", status: "ok" });
    expect(app.runner.changesSince(from)).toEqual([]); // nothing was changed in it
    expect((await labRun("ip", ["-n", "adoptme", "-br", "link"])).split("\n").some((l) => l.startsWith("d0"))).toBe(true);
    const list2 = await alice().sandbox.list();
    expect(list2.foreign.map((f) => f.name)).not.toContain("adoptme");
    expect((await failure(alice().sandbox.adopt({ name: "adoptme" }))).appCode).toBe("NAME_TAKEN");
    expect((await failure(alice().sandbox.adopt({ name: "nosuchns" }))).appCode).toBe("NOT_FOUND");
    // Reconcile leaves it as it is; deleting it removes the namespace.
    expect((await admin().host.reconcile()).repaired).toEqual([]);
    await alice().sandbox.delete({ name: "adoptme" });
    expect((await snapshot()).netns).not.toContain("adoptme");
  });
});

describe("concurrency", () => {
  it("20 creates in parallel get 20 distinct subnets and all work", async () => {
    const names = Array.from({ length: 20 }, (_, k) => `par${k}`);
    const made = await Promise.all(names.map((name) => alice().sandbox.create({ name })));
    const subnets = new Set(made.map((s) => s.subnet));
    expect(subnets.size).toBe(20);
    const outcomes = await Promise.all(made.slice(0, 5).map((s) => probe(s.name, world, port)));
    expect(outcomes.every((o) => o.kind === "ok")).toBe(true);
    await alice().sandbox.deleteMany({ names });
  });
});

describe("host.info and topology.get", () => {
  it("report forwarding, the backend, uplinks, sandboxes, foreign namespaces and veth/nat edges with counters", async () => {
    const info = await admin().host.info();
    expect(info).toMatchObject({ ipForward: true, firewallBackend: expect.stringMatching(/^iptables-/) });
    expect(info.uplinks).toEqual(expect.arrayContaining([expect.objectContaining({ name: lab.uplinkIf, default: true })]));
    await probe("nat1", world, port); // some bytes
    const topo = await caller("vera", "viewer").topology.get();
    const ids = topo.nodes.map((n) => n.id);
    expect(ids).toEqual(expect.arrayContaining(["host", `uplink:${lab.uplinkIf}`, "sandbox:nat1", "sandbox:iso1", `foreign:${FOREIGN_NS}`, `foreign:${lab.worldNetns}`]));
    const veth = topo.edges.find((e) => e.id === "veth:nat1")!;
    expect(veth).toMatchObject({ source: "host", target: "sandbox:nat1", kind: "veth" });
    expect(veth.rxBytes).toBeGreaterThan(0);
    expect(topo.edges.find((e) => e.id === "nat:nat1")).toMatchObject({ kind: "nat", target: `uplink:${lab.uplinkIf}` });
    expect(topo.edges.some((e) => e.id === "nat:routed1")).toBe(false);
  });

  it("warns about another tool's nftables forward chain with policy drop", async () => {
    await labRun("nft", ["add", "table", "inet", "othertool"]);
    await labRun("nft", ["add", "chain", "inet", "othertool", "passage", "{ type filter hook forward priority 10; policy drop; }"]);
    try {
      const info = await admin().host.info();
      expect(info.warnings.join("\n")).toContain("nftables chain inet othertool passage (hook forward) has policy drop");
    } finally {
      await labRun("nft", ["delete", "table", "inet", "othertool"]);
    }
    expect((await admin().host.info()).warnings).toEqual([]);
  });

  it("warns about a FORWARD policy of DROP", async () => {
    await labRun("iptables", ["-P", "FORWARD", "DROP"]);
    try {
      const info = await admin().host.info();
      expect(info.warnings.join("\n")).toContain("FORWARD policy is DROP");
      // Sandboxes keep working: nslab's jump is first.
      expect(await probe("nat1", world, port)).toEqual({ kind: "ok", body: lab.uplinkAddr });
    } finally {
      await labRun("iptables", ["-P", "FORWARD", "ACCEPT"]);
    }
  });
});
