/**
 * The sandbox engine through the real console (`next start` inside the private lab) and
 * plain HTTP as API.md describes it: lifecycle with real packets, authorization, audit,
 * 20 parallel creates, kill -9 in the middle of a create of 20 and a restart, and
 * foreign state byte-identical across the server's whole life.
 *   NSLAB_DIST_DIR=.next-engine npx next build
 *   NSLAB_DIST_DIR=.next-engine node scripts/lab/enter.mjs -- npx vitest run --project lab server/api/sandbox.lab.test.ts
 */
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lab, requireLab } from "../../test-support/lab";
import { startServer, type TestServer } from "../../test-support/server";
import { ApiClient, apiError, signInNewUsers, signInAdmin } from "../../test-support/api-client";
import { labRun, snapshot } from "../../test-support/engine-lab";
import { probe } from "../net/rules-lab-probe";

requireLab();

let server: TestServer;
let admin: ApiClient;
let alice: ApiClient;
let bob: ApiClient;
let vera: ApiClient;

const FOREIGN_NS = "apiforeign";
async function foreignView() {
  const save = await labRun("iptables-save", []);
  return {
    lines: save
      .split("\n")
      .filter((l) => !l.startsWith("#") && !l.includes("NSLAB") && !l.includes("nslab"))
      .map((l) => l.replace(/\[\d+:\d+\]/, "")),
    netns: (await labRun("ip", ["netns", "list"])).split("\n").filter((l) => l.startsWith(FOREIGN_NS)),
    foreignLinks: (await labRun("ip", ["-n", FOREIGN_NS, "-j", "link"])).trim(),
  };
}
let foreignBefore: Awaited<ReturnType<typeof foreignView>>;

/** nslab's kernel objects: namespaces, marked links, ids in marked rules and chains. */
async function nslabObjects() {
  const links = (JSON.parse(await labRun("ip", ["-j", "link"])) as { ifname: string; ifalias?: string }[])
    .filter((l) => l.ifalias?.startsWith("nslab:"))
    .map((l) => l.ifalias!.slice(6));
  const save = await labRun("iptables-save", []);
  const ruleIds = new Set([...save.matchAll(/nslab:([a-z][0-9a-z]{9})/g)].map((m) => m[1]!));
  const chainIds = new Set([...save.matchAll(/^:NSLAB-[EI]-([a-z][0-9a-z]{9})/gm)].map((m) => m[1]!));
  const netns = (await labRun("ip", ["netns", "list"])).split("\n").map((l) => l.split(" ")[0]!).filter(Boolean);
  return { links: new Set(links), ruleIds, chainIds, netns: new Set(netns) };
}

beforeAll(async () => {
  await labRun("ip", ["netns", "add", FOREIGN_NS]);
  await labRun("ip", ["-n", FOREIGN_NS, "link", "set", "lo", "up"]);
  await labRun("iptables", ["-A", "FORWARD", "-s", "198.51.100.9/32", "-j", "ACCEPT"]);
  await labRun("iptables", ["-N", "API-FOREIGN"]);
  await labRun("iptables", ["-A", "API-FOREIGN", "-s", "198.51.100.0/24", "-j", "DROP"]);
  await labRun("iptables", ["-t", "nat", "-A", "POSTROUTING", "-s", "198.51.100.0/24", "-j", "RETURN"]);
  foreignBefore = await foreignView();
  server = await startServer({ env: { NSLAB_RECONCILE_SECONDS: "3600" } });
  admin = await signInAdmin(server);
  [alice, bob, vera] = await signInNewUsers(admin, [["alice", "operator"], ["bob", "operator"], ["vera", "viewer"]]);
});

afterAll(async () => {
  if (server) {
    const list = await admin.query("sandbox.list").catch(() => null);
    if (list?.sandboxes.length) await admin.mutate("sandbox.deleteMany", { names: list.sandboxes.map((s: { name: string }) => s.name) });
    await server.stop();
  }
  // A full lifecycle later: the hand-made namespace, FORWARD rule and chain are byte-identical.
  expect(await foreignView()).toEqual(foreignBefore);
  await labRun("ip", ["netns", "del", FOREIGN_NS]).catch(() => undefined);
  await labRun("iptables", ["-D", "FORWARD", "-s", "198.51.100.9/32", "-j", "ACCEPT"]).catch(() => undefined);
  await labRun("iptables", ["-F", "API-FOREIGN"]).catch(() => undefined);
  await labRun("iptables", ["-X", "API-FOREIGN"]).catch(() => undefined);
  await labRun("iptables", ["-t", "nat", "-D", "POSTROUTING", "-s", "198.51.100.0/24", "-j", "RETURN"]).catch(() => undefined);
});

describe("through the API", () => {
  it("create, get, list (with foreign), packets through NAT, delete, NOT_FOUND after", async () => {
    const s = await alice.mutate("sandbox.create", { name: "web", description: "a web box" });
    expect(s).toMatchObject({ name: "web", owner: "alice", mode: "nat", nat: true, status: "ok", policy: { egress: "accept", ingress: "drop" } });
    expect(await probe("web", lab.worldAddr, lab.worldPort)).toEqual({ kind: "ok", body: lab.uplinkAddr });
    const got = await vera.query("sandbox.get", { name: "web" });
    expect(got).toMatchObject({ name: "web", status: "ok", address: s.address, hostAddress: s.hostAddress });
    const list = await vera.query("sandbox.list");
    expect(list.sandboxes.map((x: { name: string }) => x.name)).toEqual(["web"]);
    expect(list.foreign.map((x: { name: string }) => x.name)).toEqual(expect.arrayContaining([FOREIGN_NS, lab.worldNetns]));
    expect(await alice.mutate("sandbox.delete", { name: "web" })).toMatchObject({ ok: true });
    expect((await apiError(() => vera.query("sandbox.get", { name: "web" }))).appCode).toBe("NOT_FOUND");
    expect(await alice.mutate("sandbox.delete", { name: "web" })).toMatchObject({ ok: true, alreadyGone: ["web"] });
    // The audit log names who did what to which sandbox.
    const rows = await admin.query("audit.list", { sandbox: "web" });
    expect(rows.map((r: { action: string; user: string; result: string }) => `${r.action}:${r.user}:${r.result}`)).toEqual(
      expect.arrayContaining(["sandbox.create:alice:ok", "sandbox.delete:alice:ok"]),
    );
  });

  it("authorization: viewers FORBIDDEN, operators only their own, admins any; nothing changes on refusal", async () => {
    await alice.mutate("sandbox.create", { name: "alices" });
    const before = await snapshot();
    expect((await apiError(() => vera.mutate("sandbox.create", { name: "veras" }))).appCode).toBe("FORBIDDEN");
    expect((await apiError(() => bob.mutate("sandbox.delete", { name: "alices" }))).appCode).toBe("FORBIDDEN");
    expect((await apiError(() => bob.mutate("sandbox.setPolicy", { name: "alices", ingress: "accept" }))).appCode).toBe("FORBIDDEN");
    expect((await apiError(() => vera.mutate("host.reconcile", {}))).appCode).toBe("FORBIDDEN");
    // A cookie mutation without Origin is refused too.
    expect((await apiError(() => alice.mutate("sandbox.delete", { name: "alices" }, { origin: null }))).appCode).toBe("FORBIDDEN");
    expect(await snapshot()).toEqual(before);
    await admin.mutate("sandbox.delete", { name: "alices" });
  });

  it("bad input → NAME_INVALID / INPUT_INVALID / ADDRESS_CONFLICT with field errors, host unchanged", async () => {
    const before = await snapshot();
    for (const name of ["Alpha", "-rf", "a;reboot", "../etc", "a b", "$(id)", "a".repeat(40), ""]) {
      const e = await apiError(() => alice.mutate("sandbox.create", { name }));
      expect(e.appCode, name).toBe("NAME_INVALID");
      expect(e.fieldErrors?.name).toBeDefined();
    }
    for (const subnet of ["10.0.0.0/33", "999.1.1.1/30"]) {
      const e = await apiError(() => alice.mutate("sandbox.create", { name: "okname", subnet }));
      expect(e.appCode, subnet).toBe("INPUT_INVALID");
      expect(e.fieldErrors?.subnet).toBeDefined();
    }
    const conflict = await apiError(() => alice.mutate("sandbox.create", { name: "okname", subnet: "203.0.113.0/28" }));
    expect(conflict.appCode).toBe("ADDRESS_CONFLICT");
    expect(conflict.message).toContain("203.0.113.");
    expect(await snapshot()).toEqual(before);
  });

  it("20 creates in parallel through the API: 20 working sandboxes, no duplicate addresses", async () => {
    const names = Array.from({ length: 20 }, (_, k) => `p${k}`);
    const made = await Promise.all(names.map((name) => alice.mutate("sandbox.create", { name })));
    const addresses = made.map((s: { address: string }) => s.address);
    expect(new Set(addresses).size).toBe(20);
    expect(new Set(made.map((s: { hostAddress: string }) => s.hostAddress)).size).toBe(20);
    const outcomes = await Promise.all(names.map((name) => probe(name, lab.worldAddr, lab.worldPort, 3000)));
    expect(outcomes).toEqual(names.map(() => ({ kind: "ok", body: lab.uplinkAddr })));
    const list = await vera.query("sandbox.list");
    expect(list.sandboxes.filter((s: { status: string }) => s.status === "ok").length).toBe(20);
    await alice.mutate("sandbox.deleteMany", { names });
    const left = await nslabObjects();
    expect(names.filter((n) => left.netns.has(n))).toEqual([]);
    expect(left.links.size).toBe(0);
  });

  it("host.info and topology.get answer from the live kernel", async () => {
    const info = await vera.query("host.info");
    expect(info).toMatchObject({ ipForward: true, warnings: [] });
    await alice.mutate("sandbox.createMany", { sandboxes: [{ name: "t1" }, { name: "t2", mode: "isolated" }] });
    const topo = await vera.query("topology.get");
    const kinds = Object.fromEntries(topo.nodes.map((n: { id: string; kind: string }) => [n.id, n.kind]));
    expect(kinds).toMatchObject({ host: "host", "sandbox:t1": "sandbox", "sandbox:t2": "sandbox", [`foreign:${FOREIGN_NS}`]: "foreign" });
    expect(topo.edges.map((e: { id: string }) => e.id)).toEqual(expect.arrayContaining(["veth:t1", "nat:t1"]));
    await alice.mutate("sandbox.deleteMany", { names: ["t1", "t2"] });
  });
});

describe("crash and restart", () => {
  it("kill -9 in the middle of a createMany of 20 → after restart every stored sandbox works, nothing nslab owns is left over", async () => {
    const names = Array.from({ length: 20 }, (_, k) => `crash${k}`);
    const call = alice.mutate("sandbox.createMany", { sandboxes: names.map((name) => ({ name })) }).catch((e: unknown) => e);
    // Wait until the kernel work has begun (the first namespace exists), then crash.
    for (let i = 0; i < 2000 && !fs.existsSync("/run/netns/crash0"); i++) await new Promise((r) => setTimeout(r, 2));
    await server.kill9();
    await call;
    await server.restart(); // start-up reconcile runs before the first answer
    await alice.login("alice", "alice-password-1");
    await admin.login("admin", server.adminPassword);
    const list = await admin.query("sandbox.list");
    const stored: { name: string; status: string; id: string; address: string }[] = list.sandboxes.filter((s: { name: string }) => s.name.startsWith("crash"));
    // The intents were written before any kernel work: reconcile finished all of them.
    expect(stored.map((s) => s.name).sort()).toEqual([...names].sort());
    expect(stored.every((s) => s.status === "ok")).toBe(true);
    // The crash came mid-apply: the start-up reconcile finished the creation.
    const audit = await admin.query("audit.list", { sandbox: "crash19" });
    expect(audit.map((r: { action: string; user: string }) => `${r.action}:${r.user}`)).toContain("sandbox.create.finish:system");
    const outcomes = await Promise.all(stored.map((s) => probe(s.name, lab.worldAddr, lab.worldPort, 3000)));
    expect(outcomes.every((o) => o.kind === "ok")).toBe(true);
    // Nothing of nslab's beyond what the store has.
    const objects = await nslabObjects();
    const ids = new Set(stored.map((s) => s.id));
    expect([...objects.links].filter((id) => !ids.has(id))).toEqual([]);
    expect([...objects.ruleIds].filter((id) => !ids.has(id))).toEqual([]);
    expect([...objects.chainIds].filter((id) => !ids.has(id))).toEqual([]);
    await alice.mutate("sandbox.deleteMany", { names });
    const after = await nslabObjects();
    expect(after.links.size + after.ruleIds.size + after.chainIds.size).toBe(0);
  });

  it("kill -9 in the middle of a deleteMany of 20 → after restart they are all gone and never come back", async () => {
    const names = Array.from({ length: 20 }, (_, k) => `del${k}`);
    await alice.mutate("sandbox.createMany", { sandboxes: names.map((name) => ({ name, dns: ["192.0.2.53"] })) });
    const call = alice.mutate("sandbox.deleteMany", { names }).catch((e: unknown) => e);
    for (let i = 0; i < 2000 && fs.existsSync("/run/netns/del0"); i++) await new Promise((r) => setTimeout(r, 2));
    await server.kill9();
    await call;
    await server.restart();
    await alice.login("alice", "alice-password-1");
    await admin.login("admin", server.adminPassword);
    const list = await admin.query("sandbox.list");
    expect(list.sandboxes.filter((s: { name: string }) => s.name.startsWith("del"))).toEqual([]);
    expect(list.foreign.filter((s: { name: string }) => s.name.startsWith("del"))).toEqual([]);
    const objects = await nslabObjects();
    expect(objects.links.size + objects.ruleIds.size + objects.chainIds.size).toBe(0);
    expect((await snapshot()).etcNetns.filter((n) => n.startsWith("del"))).toEqual([]);
    // A later reconcile does not bring them back.
    await admin.mutate("host.reconcile", {});
    expect((await admin.query("sandbox.list")).sandboxes.filter((s: { name: string }) => s.name.startsWith("del"))).toEqual([]);
  });

  it("kill -9 during 20 parallel creates → after restart stored sandboxes work, the rest is gone", async () => {
    const names = Array.from({ length: 20 }, (_, k) => `pc${k}`);
    const calls = names.map((name) => alice.mutate("sandbox.create", { name }).catch((e: unknown) => e));
    for (let i = 0; i < 2000 && !fs.existsSync("/run/netns/pc3"); i++) await new Promise((r) => setTimeout(r, 2));
    await server.kill9();
    await Promise.all(calls);
    await server.restart();
    await alice.login("alice", "alice-password-1");
    await admin.login("admin", server.adminPassword);
    const list = await admin.query("sandbox.list");
    const stored: { name: string; status: string; id: string }[] = list.sandboxes.filter((s: { name: string }) => s.name.startsWith("pc"));
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.every((s) => s.status === "ok")).toBe(true);
    const outcomes = await Promise.all(stored.map((s) => probe(s.name, lab.worldAddr, lab.worldPort, 3000)));
    expect(outcomes.every((o) => o.kind === "ok")).toBe(true);
    const objects = await nslabObjects();
    const ids = new Set(stored.map((s) => s.id));
    expect([...objects.links].filter((id) => !ids.has(id))).toEqual([]);
    expect([...objects.chainIds].filter((id) => !ids.has(id))).toEqual([]);
    // Names the store does not have left no namespace behind.
    expect(names.filter((n) => !stored.some((s) => s.name === n) && objects.netns.has(n))).toEqual([]);
    await alice.mutate("sandbox.deleteMany", { names: stored.map((s) => s.name) });
  });
});
