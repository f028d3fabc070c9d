/**
 * Rules and published ports through the real console (`next start` inside the private
 * lab) with sandboxes made by the sandbox engine, over plain HTTP as API.md describes:
 * the engine's reconcile and restart keep the rules, sandbox.setPolicy goes through the
 * rules area's chain rendering, sandbox.delete removes the sandbox's DNAT lines.
 *   NSLAB_DIST_DIR=.next-rules npx next build
 *   NSLAB_DIST_DIR=.next-rules node scripts/lab/enter.mjs -- npx vitest run --project lab server/core/ports.lab.test.ts
 */
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lab, requireLab } from "../../test-support/lab";
import { startServer, type TestServer } from "../../test-support/server";
import { ApiClient, apiError, signInNewUsers, signInAdmin } from "../../test-support/api-client";
import { probe, startServerIn } from "../net/rules-lab-probe";
import { savedPortRules } from "../net/ports-nat";

requireLab();

let server: TestServer;
let admin: ApiClient;
let alice: ApiClient;
let bob: ApiClient;
let vera: ApiClient;
let web: { name: string; id: string; address: string; subnet: string };
let cli: { name: string; id: string; address: string; subnet: string };
let webServer: { stop: () => Promise<void> } | null = null;

const save = async (table: string) =>
  (await execa("iptables-save", ["-t", table])).stdout
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .map((l) => (l.startsWith(":") ? l.replace(/ \[\d+:\d+\]$/, "") : l))
    .join("\n");
const foreign = async () => {
  const keep = (l: string) => !l.includes("NSLAB") && !l.includes("nslab");
  return `${(await save("filter")).split("\n").filter(keep).join("\n")}\n${(await save("nat")).split("\n").filter(keep).join("\n")}`;
};
let foreignBefore = "";

beforeAll(async () => {
  await execa("iptables", ["-w", "-A", "FORWARD", "-s", "198.51.100.77/32", "-j", "ACCEPT"]);
  await execa("iptables", ["-w", "-t", "nat", "-A", "OUTPUT", "-d", "198.51.100.78/32", "-j", "RETURN"]);
  foreignBefore = await foreign();
  server = await startServer({ env: { NSLAB_RECONCILE_SECONDS: "3600" } });
  admin = await signInAdmin(server);
  [alice, bob, vera] = await signInNewUsers(admin, [["alice", "operator"], ["bob", "operator"], ["vera", "viewer"]]);
  web = await alice.mutate("sandbox.create", { name: "rp-web" });
  cli = await alice.mutate("sandbox.create", { name: "rp-cli" });
  webServer = await startServerIn(web.name, 8000);
});

afterAll(async () => {
  await webServer?.stop();
  if (server) {
    const list = await admin.query("sandbox.list").catch(() => null);
    if (list?.sandboxes.length) await admin.mutate("sandbox.deleteMany", { names: list.sandboxes.map((s: { name: string }) => s.name) });
    await server.stop();
  }
  try {
    expect(await foreign()).toBe(foreignBefore);
  } finally {
    await execa("iptables", ["-w", "-D", "FORWARD", "-s", "198.51.100.77/32", "-j", "ACCEPT"], { reject: false });
    await execa("iptables", ["-w", "-t", "nat", "-D", "OUTPUT", "-d", "198.51.100.78/32", "-j", "RETURN"], { reject: false });
  }
});

describe("rules and ports with engine-made sandboxes, over HTTP", () => {
  it("rules act on real traffic, show counters, and survive host.reconcile and a restart", async () => {
    // Default: nothing gets into web; cli reaches the world.
    expect((await probe(cli.name, web.address, 8000, 1000)).kind).toBe("timeout");
    expect((await probe(cli.name, lab.worldAddr, lab.worldPort)).kind).toBe("ok");
    const allowCli = await alice.mutate("rule.add", { sandbox: web.name, direction: "ingress", action: "accept", protocol: "tcp", peer: cli.subnet, ports: "8000", comment: "cli may call web" });
    const blockWorld = await alice.mutate("rule.add", { sandbox: cli.name, direction: "egress", action: "reject", protocol: "tcp", peer: `${lab.worldAddr}/32`, ports: String(lab.worldPort) });
    expect(await probe(cli.name, web.address, 8000)).toEqual({ kind: "ok", body: cli.address });
    expect((await probe(cli.name, lab.worldAddr, lab.worldPort, 3000)).kind).toBe("refused");
    const listed = await vera.query("rule.list", { sandbox: web.name });
    expect(listed.inSync).toBe(true);
    expect(listed.rules[0]).toMatchObject({ id: allowCli.id, position: 0, comment: "cli may call web" });
    expect(listed.rules[0].packets).toBeGreaterThan(0);
    expect(typeof listed.rules[0].bytes).toBe("number");
    expect(listed.policy).toMatchObject({ egress: "accept", ingress: "drop" });

    // The engine's reconcile and a restart (start-up reconcile) keep the rules in place.
    await admin.mutate("host.reconcile", {});
    await server.restart();
    await alice.login("alice", "alice-password-1");
    await vera.login("vera", "vera-password-1");
    expect((await vera.query("rule.list", { sandbox: web.name })).inSync).toBe(true);
    expect((await vera.query("rule.list", { sandbox: cli.name })).inSync).toBe(true);
    expect(await probe(cli.name, web.address, 8000)).toEqual({ kind: "ok", body: cli.address });
    expect((await probe(cli.name, lab.worldAddr, lab.worldPort, 3000)).kind).toBe("refused");

    await alice.mutate("rule.delete", { sandbox: cli.name, id: blockWorld.id });
    expect((await probe(cli.name, lab.worldAddr, lab.worldPort)).kind).toBe("ok");
  });

  it("sandbox.setPolicy renders the rules area's chains: egress drop keeps replies to allowed inbound", async () => {
    const before = (await vera.query("rule.list", { sandbox: web.name })).revision;
    await alice.mutate("sandbox.setPolicy", { name: web.name, egress: "drop" });
    const after = await vera.query("rule.list", { sandbox: web.name });
    expect(after.revision).toBeGreaterThan(before);
    expect(after.policy.egress).toBe("drop");
    expect(after.inSync).toBe(true);
    expect((await alice.query("sandbox.get", { name: web.name })).policy).toEqual({ egress: "drop", ingress: "drop" });
    expect((await probe(web.name, lab.worldAddr, lab.worldPort, 1000)).kind).toBe("timeout");
    expect(await probe(cli.name, web.address, 8000)).toEqual({ kind: "ok", body: cli.address });
    await alice.mutate("sandbox.setPolicy", { name: web.name, egress: "accept" });
    expect((await probe(web.name, lab.worldAddr, lab.worldPort)).kind).toBe("ok");
  });

  it("authorization, bad input and concurrent replaceAll over HTTP", async () => {
    const nslabBefore = (await save("filter")) + (await save("nat"));
    const forbidden = await apiError(() => bob.mutate("rule.add", { sandbox: web.name, direction: "egress", action: "drop" }));
    expect(forbidden.appCode).toBe("FORBIDDEN");
    expect((await apiError(() => vera.mutate("rule.add", { sandbox: web.name, direction: "egress", action: "drop" }))).appCode).toBe("FORBIDDEN");
    expect((await apiError(() => bob.mutate("port.add", { sandbox: web.name, protocol: "tcp", hostPort: 18085, sandboxPort: 8000 }))).appCode).toBe("FORBIDDEN");
    const bad = await apiError(() => alice.mutate("rule.add", { sandbox: web.name, direction: "egress", action: "drop", protocol: "tcp", ports: "9-3" }));
    expect(bad.appCode).toBe("INPUT_INVALID");
    expect(Object.keys(bad.fieldErrors ?? {})).toEqual(["ports"]);
    const badPeer = await apiError(() => alice.mutate("rule.add", { sandbox: web.name, direction: "egress", action: "drop", peer: "10.0.0.0/33" }));
    expect(Object.keys(badPeer.fieldErrors ?? {})).toEqual(["peer"]);
    const badComment = await apiError(() => alice.mutate("rule.add", { sandbox: web.name, direction: "egress", action: "drop", comment: "a\nb" }));
    expect(Object.keys(badComment.fieldErrors ?? {})).toEqual(["comment"]);
    expect((await save("filter")) + (await save("nat"))).toBe(nslabBefore);

    const { revision } = await vera.query("rule.list", { sandbox: cli.name });
    const results = await Promise.allSettled([
      alice.mutate("rule.replaceAll", { sandbox: cli.name, revision, rules: [{ direction: "egress", action: "drop", protocol: "udp", ports: "53" }] }),
      admin.mutate("rule.replaceAll", { sandbox: cli.name, revision, rules: [] }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === "rejected")!;
    expect(rejected.reason.appCode).toBe("CONFLICT");
    expect(rejected.reason.status).toBe(409);

    const audit = await admin.query("audit.list", { sandbox: web.name, action: "rule.add" });
    const ok = audit.filter((a: { result: string }) => a.result === "ok");
    expect(ok.at(-1).input.after).toMatchObject({ direction: "ingress", action: "accept", comment: "cli may call web" });
    expect(audit.some((a: { result: string; user: string }) => a.result === "error" && a.user === "bob")).toBe(true);
  });

  it("a published port is reachable from the world and the host, through ingress drop; sandbox.delete removes it", async () => {
    const port = await alice.mutate("port.add", { sandbox: web.name, protocol: "tcp", hostPort: 18080, sandboxPort: 8000 });
    expect(await vera.query("port.list", { sandbox: web.name })).toEqual([{ id: port.id, protocol: "tcp", hostPort: 18080, sandboxPort: 8000 }]);
    expect(await probe(lab.worldNetns, lab.uplinkAddr, 18080)).toEqual({ kind: "ok", body: lab.worldAddr });
    expect(await probe(null, lab.uplinkAddr, 18080)).toEqual({ kind: "ok", body: lab.uplinkAddr });
    // The console's own port is a listening socket on the host: CONFLICT.
    const taken = await apiError(() => alice.mutate("port.add", { sandbox: cli.name, protocol: "tcp", hostPort: server.port, sandboxPort: 80 }));
    expect(taken.appCode).toBe("CONFLICT");
    expect(taken.message).toContain("in use");
    const dup = await apiError(() => alice.mutate("port.add", { sandbox: cli.name, protocol: "tcp", hostPort: 18080, sandboxPort: 80 }));
    expect(dup.appCode).toBe("CONFLICT");
    // Someone flushes NSLAB-PORTS by hand: the console's start puts the store's ports back.
    await execa("iptables", ["-w", "-t", "nat", "-F", "NSLAB-PORTS"]);
    expect((await probe(lab.worldNetns, lab.uplinkAddr, 18080)).kind).not.toBe("ok");
    await server.restart();
    await alice.login("alice", "alice-password-1");
    expect(await probe(lab.worldNetns, lab.uplinkAddr, 18080)).toEqual({ kind: "ok", body: lab.worldAddr });
    // A second port on cli stays when web goes.
    const other = await alice.mutate("port.add", { sandbox: cli.name, protocol: "udp", hostPort: 15353, sandboxPort: 53 });
    await webServer?.stop();
    webServer = null;
    await alice.mutate("sandbox.delete", { name: web.name });
    expect(savedPortRules(await save("nat"))).toEqual([
      `-A NSLAB-PORTS -p udp -m udp --dport 15353 -m comment --comment "nslab:${cli.id}:port:${other.id}" -j DNAT --to-destination ${cli.address}:53`,
    ]);
    expect((await probe(lab.worldNetns, lab.uplinkAddr, 18080)).kind).not.toBe("ok");
    await alice.mutate("port.delete", { sandbox: cli.name, id: other.id });
    expect(savedPortRules(await save("nat"))).toEqual([]);
  });
});
