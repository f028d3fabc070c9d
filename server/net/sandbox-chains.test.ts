import { describe, expect, it } from "vitest";
import {
  canonicalChunks,
  chunkForInsert,
  chunksStillFit,
  CHUNK_MAX,
  kernelRulePlace,
  renderRuleDelete,
  renderRuleInsert,
  renderSandboxFilterChains,
  renderSandboxFilterRestore,
  sandboxChainNames,
  savedChainRules,
  renderedChainRules,
  type FilterRuleSpec,
} from "./sandbox-chains";
import { idOfSandboxChain } from "./layout";

const id = "sabcdefghi";
const rule = (over: Partial<FilterRuleSpec> & { id: string }): FilterRuleSpec => ({
  direction: "egress",
  action: "accept",
  protocol: "any",
  peer: null,
  ports: null,
  ...over,
});

describe("renderSandboxFilterChains", () => {
  it("renders a new sandbox: conntrack, policy (golden)", () => {
    expect(renderSandboxFilterChains({ id, policy: { egress: "accept", ingress: "drop" }, rules: [] })).toEqual([
      ":NSLAB-E-sabcdefghi - [0:0]",
      ":NSLAB-I-sabcdefghi - [0:0]",
      '-A NSLAB-E-sabcdefghi -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "nslab:sabcdefghi" -j RETURN',
      '-A NSLAB-E-sabcdefghi -m comment --comment "nslab:sabcdefghi:policy" -j RETURN',
      '-A NSLAB-I-sabcdefghi -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "nslab:sabcdefghi" -j ACCEPT',
      '-A NSLAB-I-sabcdefghi -m conntrack --ctstate DNAT -m comment --comment "nslab:sabcdefghi:ports" -j ACCEPT',
      '-A NSLAB-I-sabcdefghi -m comment --comment "nslab:sabcdefghi:policy" -j DROP',
    ]);
  });

  it("renders every kind of rule in iptables-save's canonical form (golden)", () => {
    const lines = renderSandboxFilterChains({
      id,
      policy: { egress: "drop", ingress: "accept" },
      rules: [
        rule({ id: "r000000001", action: "accept", protocol: "tcp", peer: "203.0.113.1/32", ports: "8080" }),
        rule({ id: "r000000002", direction: "ingress", action: "accept", peer: "10.200.0.0/30" }),
        rule({ id: "r000000003", action: "reject", protocol: "tcp", ports: "8000-8090" }),
        rule({ id: "r000000004", action: "reject", protocol: "udp", peer: "10.0.0.0/8", ports: "53" }),
        rule({ id: "r000000005", action: "reject", protocol: "icmp" }),
        rule({ id: "r000000006", direction: "ingress", action: "reject" }),
        rule({ id: "r000000007", direction: "ingress", action: "drop", protocol: "udp", ports: "1-65535" }),
        rule({ id: "r000000008", action: "drop" }),
      ],
    });
    expect(lines).toEqual([
      ":NSLAB-E-sabcdefghi - [0:0]",
      ":NSLAB-I-sabcdefghi - [0:0]",
      '-A NSLAB-E-sabcdefghi -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "nslab:sabcdefghi" -j RETURN',
      '-A NSLAB-E-sabcdefghi -d 203.0.113.1/32 -p tcp -m tcp --dport 8080 -m comment --comment "nslab:sabcdefghi:rule:r000000001" -j RETURN',
      '-A NSLAB-E-sabcdefghi -p tcp -m tcp --dport 8000:8090 -m comment --comment "nslab:sabcdefghi:rule:r000000003" -j REJECT --reject-with tcp-reset',
      '-A NSLAB-E-sabcdefghi -d 10.0.0.0/8 -p udp -m udp --dport 53 -m comment --comment "nslab:sabcdefghi:rule:r000000004" -j REJECT --reject-with icmp-port-unreachable',
      '-A NSLAB-E-sabcdefghi -p icmp -m comment --comment "nslab:sabcdefghi:rule:r000000005" -j REJECT --reject-with icmp-port-unreachable',
      '-A NSLAB-E-sabcdefghi -m comment --comment "nslab:sabcdefghi:rule:r000000008" -j DROP',
      '-A NSLAB-E-sabcdefghi -m comment --comment "nslab:sabcdefghi:policy" -j DROP',
      '-A NSLAB-I-sabcdefghi -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "nslab:sabcdefghi" -j ACCEPT',
      '-A NSLAB-I-sabcdefghi -m conntrack --ctstate DNAT -m comment --comment "nslab:sabcdefghi:ports" -j ACCEPT',
      '-A NSLAB-I-sabcdefghi -s 10.200.0.0/30 -m comment --comment "nslab:sabcdefghi:rule:r000000002" -j ACCEPT',
      '-A NSLAB-I-sabcdefghi -m comment --comment "nslab:sabcdefghi:rule:r000000006" -j REJECT --reject-with icmp-port-unreachable',
      '-A NSLAB-I-sabcdefghi -p udp -m udp --dport 1:65535 -m comment --comment "nslab:sabcdefghi:rule:r000000007" -j DROP',
      '-A NSLAB-I-sabcdefghi -m comment --comment "nslab:sabcdefghi:policy" -j ACCEPT',
    ]);
  });

  it("wraps the lines in one filter transaction", () => {
    const text = renderSandboxFilterRestore({ id, policy: { egress: "accept", ingress: "drop" }, rules: [] });
    expect(text.startsWith("*filter\n:NSLAB-E-sabcdefghi - [0:0]\n")).toBe(true);
    expect(text.endsWith("\nCOMMIT\n")).toBe(true);
  });

  it.each([
    rule({ id: "r1\n-A FORWARD" }),
    rule({ id: "r000000001", peer: "10.0.0.0/8 -j ACCEPT" }),
    rule({ id: "r000000001", ports: "80" }),
    rule({ id: "r000000001", protocol: "tcp", ports: "80\n" }),
    rule({ id: "r000000001", protocol: "sctp" as "tcp" }),
  ])("refuses to render unvalidated input %j", (bad) => {
    expect(() => renderSandboxFilterChains({ id, policy: { egress: "accept", ingress: "drop" }, rules: [bad] })).toThrow(TypeError);
  });

  it("picks a sandbox's chains out of iptables-save and matches the rendering", () => {
    const spec = { id, policy: { egress: "accept" as const, ingress: "drop" as const }, rules: [rule({ id: "r000000001", action: "drop" })] };
    const saved = [
      "*filter",
      ":NSLAB-E-sabcdefghi - [0:0]",
      ":NSLAB-I-sabcdefghi - [0:0]",
      "-A FORWARD -j NSLAB-FORWARD",
      ...renderedChainRules(spec).filter((l) => l.startsWith("-A NSLAB-I")).map((l) => `[3:120] ${l}`),
      ...renderedChainRules(spec).filter((l) => l.startsWith("-A NSLAB-E")),
      "-A NSLAB-E-sother0000 -j DROP",
      "COMMIT",
    ].join("\n");
    expect(savedChainRules(saved, id)).toEqual(renderedChainRules(spec));
  });
});

describe("chunk chains", () => {
  const rid = (k: number) => `r${String(k).padStart(9, "0")}`;
  const M = (what?: string) => `-m comment --comment "nslab:sabcdefghi${what ? `:${what}` : ""}"`;

  it("renders chunks chained by goto, the policy closing the last chunk of each direction (golden)", () => {
    const lines = renderSandboxFilterChains({
      id,
      policy: { egress: "accept", ingress: "drop" },
      rules: [
        rule({ id: rid(1), action: "drop", chunk: 0 }),
        rule({ id: rid(2), direction: "ingress", action: "accept", chunk: 0 }),
        rule({ id: rid(3), action: "accept", protocol: "tcp", ports: "80", chunk: 1 }),
        rule({ id: rid(4), direction: "ingress", action: "drop", chunk: 2 }),
        rule({ id: rid(5), action: "reject", chunk: 3 }),
        rule({ id: rid(6), action: "drop", chunk: 3 }),
      ],
    });
    expect(lines).toEqual([
      ":NSLAB-E-sabcdefghi - [0:0]",
      ":NSLAB-I-sabcdefghi - [0:0]",
      ":NSLAB-E-sabcdefghi-1 - [0:0]",
      ":NSLAB-E-sabcdefghi-3 - [0:0]",
      ":NSLAB-I-sabcdefghi-2 - [0:0]",
      `-A NSLAB-E-sabcdefghi -m conntrack --ctstate RELATED,ESTABLISHED ${M()} -j RETURN`,
      `-A NSLAB-E-sabcdefghi ${M("rule:r000000001")} -j DROP`,
      `-A NSLAB-E-sabcdefghi ${M()} -g NSLAB-E-sabcdefghi-1`,
      `-A NSLAB-E-sabcdefghi-1 -p tcp -m tcp --dport 80 ${M("rule:r000000003")} -j RETURN`,
      `-A NSLAB-E-sabcdefghi-1 ${M()} -g NSLAB-E-sabcdefghi-3`,
      `-A NSLAB-E-sabcdefghi-3 ${M("rule:r000000005")} -j REJECT --reject-with icmp-port-unreachable`,
      `-A NSLAB-E-sabcdefghi-3 ${M("rule:r000000006")} -j DROP`,
      `-A NSLAB-E-sabcdefghi-3 ${M("policy")} -j RETURN`,
      `-A NSLAB-I-sabcdefghi -m conntrack --ctstate RELATED,ESTABLISHED ${M()} -j ACCEPT`,
      `-A NSLAB-I-sabcdefghi -m conntrack --ctstate DNAT ${M("ports")} -j ACCEPT`,
      `-A NSLAB-I-sabcdefghi -m comment --comment "nslab:sabcdefghi:rule:r000000002" -j ACCEPT`,
      `-A NSLAB-I-sabcdefghi ${M()} -g NSLAB-I-sabcdefghi-2`,
      `-A NSLAB-I-sabcdefghi-2 ${M("rule:r000000004")} -j DROP`,
      `-A NSLAB-I-sabcdefghi-2 ${M("policy")} -j DROP`,
    ]);
    // Every chain name carries the prefix, stays within 28 characters and names the sandbox.
    for (const l of lines.filter((x) => x.startsWith(":"))) {
      const chain = l.slice(1).split(" ")[0]!;
      expect(chain.length).toBeLessThanOrEqual(28);
      expect(idOfSandboxChain(chain)).toBe(id);
    }
  });

  it("refuses chunk numbers that go down along a direction's order (that would reorder rules)", () => {
    const rules = [rule({ id: rid(1), chunk: 1 }), rule({ id: rid(2), chunk: 0 })];
    expect(() => renderSandboxFilterChains({ id, policy: { egress: "accept", ingress: "drop" }, rules })).toThrow(TypeError);
    expect(() => renderSandboxFilterChains({ id, policy: { egress: "accept", ingress: "drop" }, rules: [rule({ id: rid(1), chunk: -1 })] })).toThrow(TypeError);
  });

  it("lays rules out afresh 100 per chunk, per direction", () => {
    const list = Array.from({ length: 350 }, (_, k) => rule({ id: rid(k), direction: k % 2 ? "ingress" : "egress", chunk: 7 }));
    const out = canonicalChunks(list);
    expect(out.filter((r) => r.direction === "egress").map((r) => r.chunk)).toEqual(Array.from({ length: 175 }, (_, j) => Math.floor(j / 100)));
    expect(out.filter((r) => r.direction === "ingress").map((r) => r.chunk)).toEqual(Array.from({ length: 175 }, (_, j) => Math.floor(j / 100)));
    expect(sandboxChainNames({ id, rules: out })).toEqual(["NSLAB-E-sabcdefghi", "NSLAB-I-sabcdefghi", "NSLAB-E-sabcdefghi-1", "NSLAB-I-sabcdefghi-1"]);
    // A new or small sandbox renders exactly as before chunks existed: one chain per direction.
    expect(sandboxChainNames({ id, rules: canonicalChunks(list.slice(0, 100)) })).toEqual(["NSLAB-E-sabcdefghi", "NSLAB-I-sabcdefghi"]);
  });

  it("single edits keep chunk boundaries: an insert joins the chunk of the rule it goes before (or the last)", () => {
    const before = canonicalChunks(Array.from({ length: 250 }, (_, k) => rule({ id: rid(k) })));
    expect(chunkForInsert(before, "egress", 0)).toBe(0);
    expect(chunkForInsert(before, "egress", 99)).toBe(0);
    expect(chunkForInsert(before, "egress", 100)).toBe(1);
    expect(chunkForInsert(before, "egress", 250)).toBe(2);
    expect(chunkForInsert(before, "ingress", 0)).toBe(0);
    // Inserting before rule 150 (chunk 1, its 51st rule): `-I NSLAB-E-<id>-1 51`.
    const added = rule({ id: "r999999999", action: "drop", chunk: 1 });
    const after = [...before.slice(0, 150), added, ...before.slice(150)];
    expect(chunksStillFit(id, before, after)).toBe(true);
    expect(kernelRulePlace(id, after, added.id)).toEqual({ chain: "NSLAB-E-sabcdefghi-1", number: 51 });
    expect(renderRuleInsert(id, after, added.id)).toBe(`-I NSLAB-E-sabcdefghi-1 51 ${M("rule:r999999999")} -j DROP`);
    expect(renderRuleDelete(id, added)).toBe(`-D NSLAB-E-sabcdefghi-1 ${M("rule:r999999999")} -j DROP`);
    // In the head chain, after the conntrack line (egress) or conntrack and DNAT lines (ingress).
    expect(kernelRulePlace(id, after, rid(0))).toEqual({ chain: "NSLAB-E-sabcdefghi", number: 2 });
    const ing = [rule({ id: rid(1), direction: "ingress" })];
    expect(kernelRulePlace(id, ing, rid(1))).toEqual({ chain: "NSLAB-I-sabcdefghi", number: 3 });
  });

  it("a chunk over CHUNK_MAX, or a chunk emptied, needs a fresh layout", () => {
    const before = canonicalChunks(Array.from({ length: 150 }, (_, k) => rule({ id: rid(k) })));
    // Chunk 1 holds rules 100-149: deleting all but one keeps it; deleting the last one empties it.
    expect(chunksStillFit(id, before, before.slice(0, 101))).toBe(true);
    expect(chunksStillFit(id, before, before.slice(0, 100))).toBe(false);
    const big = Array.from({ length: CHUNK_MAX }, (_, k) => rule({ id: rid(k) }));
    expect(chunksStillFit(id, big, big)).toBe(true);
    expect(chunksStillFit(id, big, [...big, rule({ id: "r999999999" })])).toBe(false);
  });

  it("a rewrite removes chunk chains the new layout no longer has, whether or not they exist", () => {
    const text = renderSandboxFilterRestore({ id, policy: { egress: "accept", ingress: "drop" }, rules: [] }, ["NSLAB-E-sabcdefghi-1", "NSLAB-E-sother0000-1"]);
    expect(text).toBe(
      "*filter\n:NSLAB-E-sabcdefghi - [0:0]\n:NSLAB-I-sabcdefghi - [0:0]\n:NSLAB-E-sabcdefghi-1 - [0:0]\n-X NSLAB-E-sabcdefghi-1\n" +
        renderedChainRules({ id, policy: { egress: "accept", ingress: "drop" }, rules: [] }).join("\n") +
        "\nCOMMIT\n",
    );
  });

  it("picks chunk chains out of iptables-save in the renderer's order, whatever order they are listed in", () => {
    const spec = {
      id,
      policy: { egress: "drop" as const, ingress: "accept" as const },
      rules: canonicalChunks(Array.from({ length: 230 }, (_, k) => rule({ id: rid(k), direction: k % 3 ? "egress" : "ingress" }))),
    };
    const rendered = renderedChainRules(spec);
    expect(sandboxChainNames(spec)).toEqual(["NSLAB-E-sabcdefghi", "NSLAB-I-sabcdefghi", "NSLAB-E-sabcdefghi-1"]);
    // Chain by chain (each chain's lines in order), the chains listed last to first.
    const chains = [...new Set(rendered.map((l) => l.split(" ")[1]!))].reverse();
    const shuffled = chains.flatMap((c) => rendered.filter((l) => l.split(" ")[1] === c));
    expect(shuffled).not.toEqual(rendered);
    expect(savedChainRules(["*filter", "-A NSLAB-E-sother0000-1 -j DROP", ...shuffled.map((l) => `[1:2] ${l}`), "COMMIT"].join("\n"), id)).toEqual(rendered);
  });
});
