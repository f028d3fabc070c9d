import { describe, expect, it } from "vitest";
import { renderSandboxFilterChains, renderSandboxFilterRestore, savedChainRules, renderedChainRules, type FilterRuleSpec } from "./sandbox-chains";

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
