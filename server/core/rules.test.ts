import fs from "node:fs";
import { eq } from "drizzle-orm";
import os from "node:os";
import path from "node:path";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { log } from "../log";
import { openStore, type Store } from "../store/db";
import { audit, sandboxes } from "../store/schema";
import { EventBus } from "./events";
import { CommandError, FakeRunner } from "../net/runner";
import { ruleAddSchema } from "../net/rules-input";
import { addRule, deleteRule, listRules, moveRule, replaceAllRules, setPolicy, loadRules, type Actor } from "./rules";
import { addPort, deletePort, listPorts, natLinesWithoutSandbox, syncPorts } from "./ports";
import { AppError } from "../errors";

const admin: Actor = { username: "admin", role: "admin" };
const alice: Actor = { username: "alice", role: "operator" };
const bob: Actor = { username: "bob", role: "operator" };

let store: Store;
let runner: FakeRunner;
/** The text of every iptables-restore transaction (its standard input). */
let texts: string[] = [];
function capturing(respond: ConstructorParameters<typeof FakeRunner>[0] = () => undefined): FakeRunner {
  return new FakeRunner((cmd, k) => {
    if (cmd.argv[0] === "iptables-restore") texts.push(cmd.input ?? "");
    return respond(cmd, k);
  });
}
let app: { store: Store; runner: FakeRunner; events: EventBus };

function addSandbox(name: string, id: string, owner = "alice", address: string | null = "10.200.0.2") {
  store.insert(sandboxes).values({ id, name, owner, mode: "nat", nat: true, subnet: "10.200.0.0/30", hostAddress: "10.200.0.1", address, state: "ready", createdAt: new Date().toISOString() }).run();
}

const add = (actor: Actor, input: Record<string, unknown>) => addRule(app, actor, ruleAddSchema.parse({ sandbox: "web", ...input }));

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    if (error instanceof AppError) return error.appCode;
    throw error;
  }
  return "ok";
}

// Refused edits are logged by design (warn); keep the test output clean.
beforeAll(() => {
  log.level = "silent";
});

beforeEach(() => {
  store = openStore(fs.mkdtempSync(path.join(os.tmpdir(), "nslab-rules-")));
  texts = [];
  runner = capturing();
  app = { store, runner, events: new EventBus() };
  addSandbox("web", "sweb000000");
  addSandbox("db", "sdb0000000", "bob", "10.200.0.6");
});

describe("rules service", () => {
  it("adds, moves, deletes in order, bumping the revision, one restore per change", async () => {
    const a = await add(alice, { direction: "egress", action: "accept", protocol: "tcp", ports: "8080" });
    const b = await add(alice, { direction: "egress", action: "drop" });
    const c = await add(alice, { direction: "ingress", action: "reject", position: 0 });
    expect(loadRules(store, "sweb000000").map((r) => r.id)).toEqual([c.id, a.id, b.id]);
    await moveRule(app, alice, { sandbox: "web", id: b.id, position: 0 });
    expect(loadRules(store, "sweb000000").map((r) => [r.id, r.position])).toEqual([[b.id, 0], [c.id, 1], [a.id, 2]]);
    await moveRule(app, alice, { sandbox: "web", id: b.id, position: 2 });
    expect(loadRules(store, "sweb000000").map((r) => r.id)).toEqual([c.id, a.id, b.id]);
    await deleteRule(app, alice, { sandbox: "web", id: c.id });
    expect(loadRules(store, "sweb000000").map((r) => [r.id, r.position])).toEqual([[a.id, 0], [b.id, 1]]);
    const restores = runner.log.filter((c) => c.argv[0] === "iptables-restore");
    expect(restores).toHaveLength(6);
    expect(restores.every((c) => c.argv.join(" ") === "iptables-restore --noflush --wait")).toBe(true);
    // Single-rule changes are sent as edits of the sandbox's own chains, one transaction each.
    expect(texts[0]).toBe(`*filter\n-I NSLAB-E-sweb000000 2 -p tcp -m tcp --dport 8080 -m comment --comment "nslab:sweb000000:rule:${a.id}" -j RETURN\nCOMMIT\n`);
    expect(texts[1]).toContain(`-I NSLAB-E-sweb000000 3 -m comment --comment "nslab:sweb000000:rule:${b.id}" -j DROP`);
    expect(texts[2]).toContain(`-I NSLAB-I-sweb000000 3 -m comment --comment "nslab:sweb000000:rule:${c.id}" -j REJECT --reject-with icmp-port-unreachable`);
    // move b to 0: delete it by spec, insert it first in the egress chain.
    expect(texts[3]).toBe(
      `*filter\n-D NSLAB-E-sweb000000 -m comment --comment "nslab:sweb000000:rule:${b.id}" -j DROP\n` +
        `-I NSLAB-E-sweb000000 2 -m comment --comment "nslab:sweb000000:rule:${b.id}" -j DROP\nCOMMIT\n`,
    );
    expect(texts[5]).toBe(`*filter\n-D NSLAB-I-sweb000000 -m comment --comment "nslab:sweb000000:rule:${c.id}" -j REJECT --reject-with icmp-port-unreachable\nCOMMIT\n`);
    const listed = await listRules(app, "web");
    expect(listed.revision).toBe(6);
    expect(listed.rules.map((r) => r.id)).toEqual([a.id, b.id]);
  });

  it("reads counters with one iptables-save and maps them by mark", async () => {
    const a = await add(alice, { direction: "egress", action: "drop" });
    runner = capturing((cmd) =>
      cmd.argv[0] === "iptables-save"
        ? { stdout: `[3:180] -A NSLAB-E-sweb000000 -m comment --comment "nslab:sweb000000:rule:${a.id}" -j DROP\n[7:700] -A NSLAB-E-sweb000000 -m comment --comment "nslab:sweb000000:policy" -j RETURN\n`, stderr: "" }
        : undefined,
    );
    app.runner = runner;
    const listed = await listRules(app, "web");
    expect(runner.log.map((c) => c.argv.join(" "))).toEqual(["iptables-save -c -t filter"]);
    expect(listed.rules[0]).toMatchObject({ id: a.id, packets: 3, bytes: 180 });
    expect(listed.policy).toMatchObject({ egress: "accept", ingress: "drop", egressPackets: 7, ingressPackets: 0 });
  });

  it("shares one iptables-save between concurrent lists, and reads none with counters: false", async () => {
    addSandbox("api", "sapi000000");
    runner.log.length = 0;
    const lists = await Promise.all([listRules(app, "web"), listRules(app, "db"), listRules(app, "api")]);
    expect(lists.every((l) => l.inSync === true)).toBe(false); // the fake kernel holds nothing
    expect(runner.log.map((c) => c.argv.join(" "))).toEqual(["iptables-save -c -t filter"]);
    const quiet = await listRules(app, "web", { counters: false });
    expect(quiet.inSync).toBeNull();
    expect(runner.log).toHaveLength(1);
  });

  it("audits every change with before and after", async () => {
    const a = await add(alice, { direction: "egress", action: "drop", comment: "block all" });
    await deleteRule(app, alice, { sandbox: "web", id: a.id });
    const rows = store.select().from(audit).all();
    expect(rows.map((r) => [r.action, r.result, r.sandbox, r.user])).toEqual([
      ["rule.add", "ok", "web", "alice"],
      ["rule.delete", "ok", "web", "alice"],
    ]);
    expect((rows[0]!.input as { after: { comment: string } }).after.comment).toBe("block all");
    expect((rows[1]!.input as { before: { id: string } }).before.id).toBe(a.id);
  });

  it("lets owners and admins change, refuses other operators, and audits the refusal", async () => {
    expect(await code(add(bob, { direction: "egress", action: "drop" }))).toBe("FORBIDDEN");
    expect(await code(add(admin, { direction: "egress", action: "drop" }))).toBe("ok");
    expect(runner.log).toHaveLength(1);
    expect(store.select().from(audit).all().map((r) => r.result)).toEqual(["error", "ok"]);
  });

  it("refuses unknown sandboxes, rules and positions before anything runs", async () => {
    expect(await code(addRule(app, alice, ruleAddSchema.parse({ sandbox: "nope", direction: "egress", action: "drop" })))).toBe("NOT_FOUND");
    expect(await code(add(alice, { direction: "egress", action: "drop", position: 1 }))).toBe("INPUT_INVALID");
    expect(await code(deleteRule(app, alice, { sandbox: "web", id: "r000000000" }))).toBe("NOT_FOUND");
    expect(await code(moveRule(app, alice, { sandbox: "web", id: "r000000000", position: 0 }))).toBe("NOT_FOUND");
    expect(runner.log).toHaveLength(0);
  });

  it("leaves the store as it was when the kernel refuses", async () => {
    runner = capturing(() => new CommandError(["iptables-restore"], 1, "", "iptables-restore: line 3 failed", false));
    app.runner = runner;
    const error = await add(alice, { direction: "egress", action: "drop" }).catch((e) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error.appCode).toBe("APPLY_FAILED");
    expect(error.detail.stderr).toContain("line 3");
    expect(loadRules(store, "sweb000000")).toHaveLength(0);
    expect((await listRules({ ...app, runner: new FakeRunner() }, "web")).revision).toBe(0);
    // The edit was tried, then the whole rewrite; both refused.
    expect(texts.map((t) => t.split("\n")[1]!.slice(0, 2))).toEqual(["-I", ":N"]);
  });

  it("rewrites the chains whole when the kernel refuses an edit (drift), and goes on", async () => {
    runner = capturing((cmd, k) => (k === 0 ? new CommandError(["iptables-restore"], 1, "", "Bad rule", false) : undefined));
    app.runner = runner;
    const a = await add(alice, { direction: "egress", action: "drop" });
    expect(texts).toHaveLength(2);
    expect(texts[1]).toContain(":NSLAB-E-sweb000000 - [0:0]");
    expect(texts[1]).toContain(`rule:${a.id}" -j DROP`);
    expect(loadRules(store, "sweb000000")).toHaveLength(1);
  });

  it("refuses changes while the engine creates or deletes the sandbox", async () => {
    store.update(sandboxes).set({ state: "creating" }).where(eq(sandboxes.id, "sweb000000")).run();
    expect(await code(add(alice, { direction: "egress", action: "drop" }))).toBe("CONFLICT");
    expect(await code(addPort(app, alice, { sandbox: "web", protocol: "tcp", hostPort: 8081, sandboxPort: 80 }, () => new Set()))).toBe("CONFLICT");
    store.update(sandboxes).set({ state: "deleting" as "ready" }).where(eq(sandboxes.id, "sweb000000")).run();
    expect(await code(setPolicy(app, alice, { name: "web", egress: "drop" }))).toBe("CONFLICT");
    expect(runner.log).toHaveLength(0);
  });

  it("puts the kernel back when the store refuses the change after the kernel took it", async () => {
    runner = capturing((cmd) => {
      // The engine deletes the sandbox meanwhile: the rule's row can no longer be written.
      if (cmd.argv[0] === "iptables-restore" && texts.length === 1) store.delete(sandboxes).where(eq(sandboxes.id, "sweb000000")).run();
      return undefined;
    });
    app.runner = runner;
    const error = await add(alice, { direction: "egress", action: "drop" }).catch((e) => e);
    expect(error).toBeInstanceOf(Error);
    expect(texts).toHaveLength(2);
    expect(texts[0]).toContain("-I NSLAB-E-sweb000000 2 ");
    expect(texts[1]).toContain(":NSLAB-E-sweb000000 - [0:0]");
    expect(texts[1]).not.toContain(":rule:");
  });

  it("at scale, a single edit touches one chunk chain; a chunk past CHUNK_MAX or emptied is laid out afresh", async () => {
    const rules = Array.from({ length: 250 }, (_, k) => ({ direction: "egress" as const, action: "drop" as const, protocol: "tcp" as const, ports: String(1000 + k) }));
    await replaceAllRules(app, alice, { sandbox: "web", revision: 0, rules });
    expect(texts[0]).toContain(":NSLAB-E-sweb000000-1 - [0:0]\n:NSLAB-E-sweb000000-2 - [0:0]\n");
    expect(texts[0]).toContain(`-A NSLAB-E-sweb000000 -m comment --comment "nslab:sweb000000" -g NSLAB-E-sweb000000-1\n`);
    const stored = () => loadRules(store, "sweb000000");
    expect(stored().map((r) => r.chunk)).toEqual(Array.from({ length: 250 }, (_, j) => Math.floor(j / 100)));
    // The API never shows the chunk.
    expect(Object.keys((await listRules({ ...app, runner: new FakeRunner() }, "web", { counters: false })).rules[0]!)).not.toContain("chunk");

    // Insert before rule 150: chunk 1, its 51st rule.
    const a = await add(alice, { direction: "egress", action: "accept", position: 150 });
    expect(texts[1]).toBe(`*filter\n-I NSLAB-E-sweb000000-1 51 -m comment --comment "nslab:sweb000000:rule:${a.id}" -j RETURN\nCOMMIT\n`);
    expect(stored()[150]).toMatchObject({ id: a.id, chunk: 1 });
    // Move it to the very end: out of chunk 1, into the last chunk before its policy line.
    await moveRule(app, alice, { sandbox: "web", id: a.id, position: 250 });
    expect(texts[2]).toBe(
      `*filter\n-D NSLAB-E-sweb000000-1 -m comment --comment "nslab:sweb000000:rule:${a.id}" -j RETURN\n` +
        `-I NSLAB-E-sweb000000-2 51 -m comment --comment "nslab:sweb000000:rule:${a.id}" -j RETURN\nCOMMIT\n`,
    );
    await deleteRule(app, alice, { sandbox: "web", id: a.id });
    expect(texts[3]).toBe(`*filter\n-D NSLAB-E-sweb000000-2 -m comment --comment "nslab:sweb000000:rule:${a.id}" -j RETURN\nCOMMIT\n`);
    expect(texts).toHaveLength(4);

    // Chunk 0 grows by edits up to CHUNK_MAX (200); one more lays everything out afresh.
    for (let k = 0; k < 100; k++) await add(alice, { direction: "egress", action: "drop", position: 0 });
    expect(texts).toHaveLength(104);
    expect(texts[103]).toMatch(/^\*filter\n-I NSLAB-E-sweb000000 2 /);
    expect(stored().filter((r) => r.chunk === 0)).toHaveLength(200);
    await add(alice, { direction: "egress", action: "drop", position: 0 });
    expect(texts).toHaveLength(105);
    expect(texts[104]).toContain(":NSLAB-E-sweb000000-3 - [0:0]");
    expect(stored().map((r) => r.chunk)).toEqual(Array.from({ length: 351 }, (_, j) => Math.floor(j / 100)));

    // Emptying chunk 3 (51 rules) by deletes: the 51st delete removes its chain in a rewrite.
    for (const rule of stored().slice(301)) await deleteRule(app, alice, { sandbox: "web", id: rule.id });
    expect(texts).toHaveLength(155);
    const last = stored()[300]!;
    expect(last.chunk).toBe(3);
    await deleteRule(app, alice, { sandbox: "web", id: last.id });
    expect(texts).toHaveLength(156);
    expect(texts[155]).toContain(":NSLAB-E-sweb000000-3 - [0:0]\n-X NSLAB-E-sweb000000-3\n");
    expect(texts[155]).not.toContain("-A NSLAB-E-sweb000000-3 ");
    expect(stored().map((r) => r.chunk)).toEqual(Array.from({ length: 300 }, (_, j) => Math.floor(j / 100)));

    // replaceAll with fewer rules removes the chunk chains it no longer has.
    await replaceAllRules(app, alice, { sandbox: "web", revision: (await listRules({ ...app, runner: new FakeRunner() }, "web", { counters: false })).revision, rules: rules.slice(0, 3) });
    expect(texts[156]).toContain("-X NSLAB-E-sweb000000-1\n-X NSLAB-E-sweb000000-2\n");
  });

  it("keeps rules of a sandbox without chains (isolated) in the store only", async () => {
    store.insert(sandboxes).values({ id: "siso000000", name: "iso", owner: "alice", mode: "isolated", nat: false, state: "ready", createdAt: new Date().toISOString() }).run();
    await addRule(app, alice, ruleAddSchema.parse({ sandbox: "iso", direction: "egress", action: "drop" }));
    expect(runner.log).toHaveLength(0);
    expect(loadRules(store, "siso000000")).toHaveLength(1);
  });

  it("replaceAll: two at the same revision → one succeeds, the other CONFLICT", async () => {
    await add(alice, { direction: "egress", action: "drop" });
    const { revision } = await listRules(app, "web");
    const rules = [{ direction: "egress" as const, action: "accept" as const }];
    const results = await Promise.all([
      code(replaceAllRules(app, alice, { sandbox: "web", revision, rules })),
      code(replaceAllRules(app, admin, { sandbox: "web", revision, rules: [...rules, ...rules] })),
    ]);
    expect(results.sort()).toEqual(["CONFLICT", "ok"]);
    expect(loadRules(store, "sweb000000")).toHaveLength(1);
  });

  it("setPolicy rewrites the chains with the new policy and bumps the revision", async () => {
    await setPolicy(app, alice, { name: "web", egress: "drop" });
    const input = texts.at(-1)!;
    expect(input).toContain('--comment "nslab:sweb000000:policy" -j DROP');
    const listed = await listRules(app, "web");
    expect(listed.policy.egress).toBe("drop");
    expect(listed.policy.ingress).toBe("drop");
    expect(listed.revision).toBe(1);
  });
});

describe("ports service", () => {
  const none = () => new Set<number>();
  it("publishes, refuses taken ports, deletes, and renders removal for the engine", async () => {
    const p = await addPort(app, alice, { sandbox: "web", protocol: "tcp", hostPort: 8081, sandboxPort: 80 }, none);
    expect(listPorts(store, "web")).toEqual([{ id: p.id, protocol: "tcp", hostPort: 8081, sandboxPort: 80 }]);
    expect(texts[0]).toContain("*nat\n:NSLAB-PORTS - [0:0]\n");
    expect(texts[0]).toContain("-j DNAT --to-destination 10.200.0.2:80");
    expect(await code(addPort(app, bob, { sandbox: "db", protocol: "tcp", hostPort: 8081, sandboxPort: 80 }, none))).toBe("CONFLICT");
    expect(await code(addPort(app, bob, { sandbox: "db", protocol: "udp", hostPort: 8081, sandboxPort: 80 }, none))).toBe("ok");
    expect(await code(addPort(app, bob, { sandbox: "db", protocol: "tcp", hostPort: 3000, sandboxPort: 80 }, () => new Set([3000])))).toBe("CONFLICT");
    expect(await code(addPort(app, bob, { sandbox: "web", protocol: "tcp", hostPort: 9000, sandboxPort: 80 }, none))).toBe("FORBIDDEN");
    expect(natLinesWithoutSandbox(store, "sweb000000")).toEqual([
      ":NSLAB-PORTS - [0:0]",
      expect.stringContaining("--dport 8081 -m comment --comment \"nslab:sdb0000000:port:"),
    ]);
    await deletePort(app, alice, { sandbox: "web", id: p.id });
    expect(listPorts(store, "web")).toEqual([]);
    expect(await code(deletePort(app, alice, { sandbox: "web", id: p.id }))).toBe("NOT_FOUND");
  });

  it("syncPorts rewrites NSLAB-PORTS only when the kernel differs from the store", async () => {
    const p = await addPort(app, alice, { sandbox: "web", protocol: "tcp", hostPort: 8081, sandboxPort: 80 }, none);
    const line = natLinesWithoutSandbox(store, "nobody0000")[1]!;
    let nat = `*nat\n:NSLAB-PORTS - [0:0]\n[0:0] ${line}\nCOMMIT\n`;
    runner = capturing((cmd) => (cmd.argv[0] === "iptables-save" ? { stdout: nat, stderr: "" } : undefined));
    app.runner = runner;
    texts = [];
    expect(await syncPorts(app)).toEqual({ repaired: false });
    expect(texts).toHaveLength(0);
    nat = "*nat\n:NSLAB-PORTS - [0:0]\nCOMMIT\n";
    expect(await syncPorts(app)).toEqual({ repaired: true });
    expect(texts[0]).toContain(`port:${p.id}`);
  });
});
