import { describe, expect, it } from "vitest";
import { idOfMark, linkAlias, ruleComment } from "./names";
import { markIdOfAlias, sandboxLines } from "./layout";
import { policyMark, renderSandboxFilterChains, ruleMark } from "./sandbox-chains";
import { renderPortRule } from "./ports-nat";
import { normalizeSpec } from "./iptables";

const ID = "sabcdefgh1";

describe("idOfMark: the one parser of nslab's marks", () => {
  it("reads every mark nslab writes, alone and inside a rule (quoted as rendered, unquoted as normalized)", () => {
    const marks = [ruleComment(ID), policyMark(ID), ruleMark(ID, "r000000001"), ruleComment(ID, "port:pabcdefgh1"), ruleComment(ID, "ports"), linkAlias(ID)];
    expect(marks).toEqual([`nslab:${ID}`, `nslab:${ID}:policy`, `nslab:${ID}:rule:r000000001`, `nslab:${ID}:port:pabcdefgh1`, `nslab:${ID}:ports`, `nslab:${ID}`]);
    for (const mark of marks) {
      expect(idOfMark(mark)).toBe(ID);
      expect(idOfMark(`-i nsl+ -m comment --comment "${mark}" -j ACCEPT`)).toBe(ID);
      expect(idOfMark(`-i nsl+ -m comment --comment ${mark} -j ACCEPT`)).toBe(ID);
    }
  });

  it("reads the lines the renderers write, as written and as iptables-save normalizes them", () => {
    const lines = [
      ...renderSandboxFilterChains({ id: ID, policy: { egress: "accept", ingress: "drop" }, rules: [{ id: "r000000001", direction: "egress", action: "drop", protocol: "tcp", peer: "10.0.0.0/8", ports: "80" }] }).filter((l) => l.startsWith("-A ")),
      ...Object.values(sandboxLines({ id: ID, mode: "nat", subnet: "10.200.0.0/30", hostAddress: "10.200.0.1", egress: "eth0" })).flat().map((l) => `-A ${l.chain} ${l.spec}`),
      renderPortRule({ id: "pabcdefgh1", sandboxId: ID, protocol: "udp", hostPort: 5353, sandboxPort: 53, address: "10.200.0.2" }),
    ];
    expect(lines.length).toBeGreaterThan(8);
    for (const line of lines) {
      expect(idOfMark(line)).toBe(ID);
      expect(idOfMark(normalizeSpec(line))).toBe(ID);
    }
  });

  it("is null for text that is not a whole mark", () => {
    for (const text of [
      "",
      "nslab",
      "nslab:",
      "nslab:short",
      `nslab:${ID}x`, // 11 characters
      `nslab:S${ID.slice(1)}`, // upper case
      `nslab:1${ID.slice(1)}`, // a digit first
      `nslab:${ID};x`,
      `nslab:${ID}:`,
      `nslab:${ID}:rule:r1 extra`,
      `xnslab:${ID}`,
      `NSLAB:${ID}`,
      `-A FORWARD -s 192.0.2.0/24 -j ACCEPT`,
      `-A FORWARD -m comment --comment "not nslab" -j ACCEPT`,
      `-A FORWARD -m comment --comment "note: nslab:${ID} was here" -j ACCEPT`, // someone's note mentioning a mark
      `-A FORWARD -m comment --comment "nslab:${ID}:x y" -j ACCEPT`,
      `-A FORWARD -m comment --comment nslab:${ID};x -j ACCEPT`,
      `-A FORWARD -j LOG --log-prefix "nslab:${ID}"`, // not a comment
      `-A FORWARD -m comment --comment "\\"nslab:${ID}\\"" -j ACCEPT`,
    ]) {
      expect(idOfMark(text), text).toBeNull();
    }
  });

  it("is what the engine uses for link aliases too", () => {
    expect(markIdOfAlias(linkAlias(ID))).toBe(ID);
    expect(markIdOfAlias(null)).toBeNull();
    expect(markIdOfAlias("uplink")).toBeNull();
    expect(markIdOfAlias(`my nslab:${ID}`)).toBeNull();
  });
});
