/**
 * What the sandboxes table and the graph read: `sandbox.list`/`get` carry each sandbox's
 * rule count and running programs (from the store), `topology.get` its published ports.
 * Through the real console (`next start` inside the private lab) and plain HTTP.
 *   NSLAB_DIST_DIR=.next-feat npx next build
 *   NSLAB_DIST_DIR=.next-feat node scripts/lab/enter.mjs -- npx vitest run --project lab server/api/views.lab.test.ts
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireLab } from "../../test-support/lab";
import { startServer, type TestServer } from "../../test-support/server";
import { ApiClient, signInAdmin } from "../../test-support/api-client";

requireLab();

let server: TestServer;
let admin: ApiClient;

interface Counts {
  name: string;
  ruleCount: number;
  runningPrograms: number;
}
interface Node {
  id: string;
  kind: string;
  mode?: string;
  ports?: { protocol: string; hostPort: number; sandboxPort: number }[];
}

/** name → {ruleCount, runningPrograms} from one sandbox.list. */
async function listed(): Promise<Record<string, { ruleCount: number; runningPrograms: number }>> {
  const list = await admin.query<{ sandboxes: Counts[] }>("sandbox.list");
  return Object.fromEntries(list.sandboxes.map((s) => [s.name, { ruleCount: s.ruleCount, runningPrograms: s.runningPrograms }]));
}

async function node(name: string): Promise<Node> {
  const topo = await admin.query<{ nodes: Node[] }>("topology.get");
  return topo.nodes.find((n) => n.id === `sandbox:${name}`)!;
}

beforeAll(async () => {
  server = await startServer({ env: { NSLAB_RECONCILE_SECONDS: "3600" } });
  admin = await signInAdmin(server);
});

afterAll(async () => {
  if (server) {
    for (const p of await admin.query<{ id: string; state: string }[]>("process.list").catch(() => [])) {
      if (p.state === "running") await admin.mutate("process.stop", { id: p.id, signal: "KILL" }).catch(() => undefined);
    }
    const list = await admin.query<{ sandboxes: { name: string }[] }>("sandbox.list").catch(() => null);
    if (list?.sandboxes.length) await admin.mutate("sandbox.deleteMany", { names: list.sandboxes.map((s) => s.name) });
    await server.stop();
  }
});

describe("views", () => {
  it("sandbox.list and get count rules and running programs; they follow rule.add/delete and process.start/stop", async () => {
    await admin.mutate("sandbox.createMany", { sandboxes: [{ name: "va" }, { name: "vb" }, { name: "vc", mode: "isolated" }] });
    const created = await admin.mutate<Counts>("sandbox.create", { name: "vd" });
    expect(created).toMatchObject({ ruleCount: 0, runningPrograms: 0 });
    expect(await listed()).toEqual({
      va: { ruleCount: 0, runningPrograms: 0 },
      vb: { ruleCount: 0, runningPrograms: 0 },
      vc: { ruleCount: 0, runningPrograms: 0 },
      vd: { ruleCount: 0, runningPrograms: 0 },
    });

    // Rules: counted per sandbox, never another's.
    await admin.mutate("rule.add", { sandbox: "va", direction: "egress", action: "drop", protocol: "tcp", ports: "25" });
    await admin.mutate("rule.add", { sandbox: "va", direction: "ingress", action: "accept", protocol: "icmp" });
    const third = await admin.mutate<{ id: string }>("rule.add", { sandbox: "vb", direction: "egress", action: "reject", protocol: "udp" });
    expect(await listed()).toMatchObject({ va: { ruleCount: 2 }, vb: { ruleCount: 1 }, vc: { ruleCount: 0 }, vd: { ruleCount: 0 } });
    expect(await admin.query("sandbox.get", { name: "va" })).toMatchObject({ ruleCount: 2, runningPrograms: 0 });

    // Programs: running ones only; an isolated sandbox runs programs too.
    const p1 = await admin.mutate<{ id: string }>("process.start", { sandbox: "va", argv: ["sleep", "1000"], user: "nobody" });
    const p2 = await admin.mutate<{ id: string }>("process.start", { sandbox: "va", argv: ["sleep", "1000"], user: "nobody" });
    const p3 = await admin.mutate<{ id: string }>("process.start", { sandbox: "vc", argv: ["sleep", "1000"], user: "nobody" });
    expect(await listed()).toMatchObject({
      va: { ruleCount: 2, runningPrograms: 2 },
      vb: { ruleCount: 1, runningPrograms: 0 },
      vc: { ruleCount: 0, runningPrograms: 1 },
      vd: { runningPrograms: 0 },
    });
    expect(await admin.query("sandbox.get", { name: "vc" })).toMatchObject({ runningPrograms: 1 });

    // process.stop resolves once the end is recorded: the count drops at once.
    await admin.mutate("process.stop", { id: p1.id });
    expect(await listed()).toMatchObject({ va: { runningPrograms: 1 }, vc: { runningPrograms: 1 } });
    expect(await admin.query("sandbox.get", { name: "va" })).toMatchObject({ runningPrograms: 1 });
    await admin.mutate("process.stop", { id: p2.id });
    await admin.mutate("process.stop", { id: p3.id, signal: "KILL" });
    await admin.mutate("rule.delete", { sandbox: "vb", id: third.id });
    expect(await listed()).toEqual({
      va: { ruleCount: 2, runningPrograms: 0 },
      vb: { ruleCount: 0, runningPrograms: 0 },
      vc: { ruleCount: 0, runningPrograms: 0 },
      vd: { ruleCount: 0, runningPrograms: 0 },
    });
    // Exited programs are still listed by process.list; they are not counted.
    const programs = await admin.query<{ sandbox: string; state: string }[]>("process.list");
    expect(programs.filter((p) => p.sandbox === "va").map((p) => p.state)).toEqual(["exited", "exited"]);
  });

  it("topology.get carries each sandbox's published ports and its mode", async () => {
    await admin.mutate("sandbox.createMany", { sandboxes: [{ name: "tp1" }, { name: "tp2", mode: "routed" }] });
    expect(await node("tp1")).toMatchObject({ kind: "sandbox", mode: "nat", ports: [] });
    const web = await admin.mutate<{ id: string }>("port.add", { sandbox: "tp1", protocol: "tcp", hostPort: 18080, sandboxPort: 80 });
    await admin.mutate("port.add", { sandbox: "tp1", protocol: "udp", hostPort: 15353, sandboxPort: 53 });
    await admin.mutate("port.add", { sandbox: "tp2", protocol: "tcp", hostPort: 18443, sandboxPort: 443 });
    expect((await node("tp1")).ports).toEqual([
      { protocol: "tcp", hostPort: 18080, sandboxPort: 80 },
      { protocol: "udp", hostPort: 15353, sandboxPort: 53 },
    ]);
    expect(await node("tp2")).toMatchObject({ mode: "routed", ports: [{ protocol: "tcp", hostPort: 18443, sandboxPort: 443 }] });
    await admin.mutate("port.delete", { sandbox: "tp1", id: web.id });
    expect((await node("tp1")).ports).toEqual([{ protocol: "udp", hostPort: 15353, sandboxPort: 53 }]);
    await admin.mutate("sandbox.deleteMany", { names: ["tp1", "tp2"] });
    const topo = await admin.query<{ nodes: Node[] }>("topology.get");
    expect(topo.nodes.filter((n) => n.id.startsWith("sandbox:tp"))).toEqual([]);
  });
});
