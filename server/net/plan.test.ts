import { describe, expect, it } from "vitest";
import { parseIptablesSave } from "./iptables";
import { parseIpObserve, type Observed } from "./observe";
import { diagnose, planCreate, planDelete, planDeleteFast, planReconcile, renderPlan, type SandboxSpec } from "./plan";
import { FakeRunner, CommandError } from "./runner";
import { apply } from "./apply";
import { AppError } from "../errors";
import { sandboxLines } from "./layout";
import { canonicalChunks, renderedChainRules, type FilterRuleSpec } from "./sandbox-chains";
import { renderPortRule } from "./ports-nat";

const IP_EMPTY = [
  `[{"name":"world","id":0}]`,
  `[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP"],"addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},` +
    `{"ifindex":2,"ifname":"eth0","flags":["UP"],"link_netnsid":0,"linkinfo":{"info_kind":"veth"},"addr_info":[{"family":"inet","local":"203.0.113.10","prefixlen":24}]}]`,
  `[{"dst":"default","gateway":"203.0.113.1","dev":"eth0"},{"dst":"203.0.113.0/24","dev":"eth0"}]`,
].join("\n");

const BASE_SAVE = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:NSLAB-EGRESS - [0:0]
:NSLAB-FORWARD - [0:0]
:NSLAB-GATEWAY - [0:0]
:NSLAB-INGRESS - [0:0]
:NSLAB-INPUT - [0:0]
:NSLAB-USER - [0:0]
-A INPUT -j NSLAB-INPUT
-A FORWARD -j NSLAB-FORWARD
-A FORWARD -s 192.0.2.0/24 -j ACCEPT
-A NSLAB-FORWARD -j NSLAB-USER
-A NSLAB-FORWARD -i nsl+ -j NSLAB-EGRESS
-A NSLAB-FORWARD -o nsl+ -j NSLAB-INGRESS
-A NSLAB-FORWARD -i nsl+ -j ACCEPT
-A NSLAB-INPUT -i nsl+ -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A NSLAB-INPUT -i nsl+ -j NSLAB-GATEWAY
-A NSLAB-INPUT -i nsl+ -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:NSLAB-PORTS - [0:0]
:NSLAB-POSTROUTING - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j NSLAB-PORTS
-A OUTPUT -m addrtype --dst-type LOCAL -j NSLAB-PORTS
-A POSTROUTING -j NSLAB-POSTROUTING
COMMIT
`;

const observed = (ipText = IP_EMPTY, save = BASE_SAVE, ipForward = true): Observed => ({
  ...parseIpObserve(ipText),
  tables: parseIptablesSave(save),
  ipForward,
});

const spec = (over: Partial<SandboxSpec> = {}): SandboxSpec => ({
  id: "sabcdefgh1",
  name: "alpha",
  mode: "nat",
  subnet: "10.200.0.0/30",
  hostAddress: "10.200.0.1",
  address: "10.200.0.2",
  egress: "eth0",
  dns: [],
  policy: { egress: "accept", ingress: "drop" },
  rules: [],
  ...over,
});

describe("planCreate", () => {
  it("plans one nat sandbox: host batch, namespace batch, one restore per table (golden)", () => {
    expect(renderPlan(planCreate([spec({ dns: ["192.0.2.53"] })], observed()))).toMatchInlineSnapshot(`
      "#0 host: 1 namespace(s) and veth(s)
        do: ip -batch -
            | netns add alpha
            | link add nslsabcdefgh1 type veth peer name eth0 netns alpha
            | link set dev nslsabcdefgh1 alias nslab:sabcdefgh1
            | addr add 10.200.0.1/30 dev nslsabcdefgh1
            | link set dev nslsabcdefgh1 up
        undo: ip -force -batch -
            | link del dev nslsabcdefgh1
            | netns del alpha
      #1 inside alpha: addresses, route, lo
        do: ip -n alpha -batch -
            | link set dev lo up
            | addr replace 10.200.0.2/30 dev eth0
            | link set dev eth0 up
            | route replace default via 10.200.0.1 dev eth0
        undo: (none)
      #2 resolv.conf of alpha [atomic]
        do: write /etc/netns/alpha/resolv.conf
            | # written by nslab
            | nameserver 192.0.2.53
        undo: remove /etc/netns/alpha/resolv.conf
      #3 firewall
        do: iptables-restore --noflush --wait
            | *filter
            | :NSLAB-E-sabcdefgh1 - [0:0]
            | :NSLAB-I-sabcdefgh1 - [0:0]
            | -A NSLAB-E-sabcdefgh1 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "nslab:sabcdefgh1" -j RETURN
            | -A NSLAB-E-sabcdefgh1 -m comment --comment "nslab:sabcdefgh1:policy" -j RETURN
            | -A NSLAB-I-sabcdefgh1 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "nslab:sabcdefgh1" -j ACCEPT
            | -A NSLAB-I-sabcdefgh1 -m conntrack --ctstate DNAT -m comment --comment "nslab:sabcdefgh1:ports" -j ACCEPT
            | -A NSLAB-I-sabcdefgh1 -m comment --comment "nslab:sabcdefgh1:policy" -j DROP
            | -A NSLAB-EGRESS -i nslsabcdefgh1 -m comment --comment nslab:sabcdefgh1 -j NSLAB-E-sabcdefgh1
            | -A NSLAB-INGRESS -o nslsabcdefgh1 -m comment --comment nslab:sabcdefgh1 -j NSLAB-I-sabcdefgh1
            | -A NSLAB-GATEWAY -d 10.200.0.1/32 -i nslsabcdefgh1 -p icmp -m icmp --icmp-type 8 -m comment --comment nslab:sabcdefgh1 -j ACCEPT
            | COMMIT
            | *nat
            | -A NSLAB-POSTROUTING -s 10.200.0.0/30 -o eth0 -m comment --comment nslab:sabcdefgh1 -j MASQUERADE
            | COMMIT
        undo: iptables-restore --noflush --wait
            | *filter
            | -D NSLAB-EGRESS -i nslsabcdefgh1 -m comment --comment nslab:sabcdefgh1 -j NSLAB-E-sabcdefgh1
            | -D NSLAB-INGRESS -o nslsabcdefgh1 -m comment --comment nslab:sabcdefgh1 -j NSLAB-I-sabcdefgh1
            | -D NSLAB-GATEWAY -d 10.200.0.1/32 -i nslsabcdefgh1 -p icmp -m icmp --icmp-type 8 -m comment --comment nslab:sabcdefgh1 -j ACCEPT
            | -F NSLAB-E-sabcdefgh1
            | -F NSLAB-I-sabcdefgh1
            | -X NSLAB-E-sabcdefgh1
            | -X NSLAB-I-sabcdefgh1
            | COMMIT
        undo: iptables-restore --noflush --wait
            | *nat
            | -D NSLAB-POSTROUTING -s 10.200.0.0/30 -o eth0 -m comment --comment nslab:sabcdefgh1 -j MASQUERADE
            | COMMIT"
    `);
  });

  it("batches many sandboxes of every mode into one host batch and one restore per table", () => {
    const specs = [
      spec(),
      spec({ id: "sabcdefgh2", name: "beta", mode: "routed", subnet: "10.200.0.4/30", hostAddress: "10.200.0.5", address: "10.200.0.6", egress: null }),
      spec({ id: "sabcdefgh3", name: "gamma", mode: "isolated", subnet: null, hostAddress: null, address: null, egress: null }),
    ];
    const steps = planCreate(specs, observed());
    const commands = steps.map((s) => (s.do.kind === "run" ? s.do.command.argv.join(" ") : s.do.kind));
    expect(commands).toEqual([
      "ip -batch -",
      "ip -n alpha -batch -",
      "ip -n beta -batch -",
      "ip -n gamma -batch -",
      "iptables-restore --noflush --wait",
    ]);
    const nat = steps[4]!.do.kind === "run" ? steps[4]!.do.command.input!.split("*nat")[1]! : "";
    expect(nat).toContain("-s 10.200.0.0/30 -o eth0");
    expect(nat).not.toContain("10.200.0.4/30");
  });

  it("lays down the base layout when the host lacks it, and enables forwarding", () => {
    const bare = observed(IP_EMPTY, "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n", false);
    expect(renderPlan(planCreate([spec()], bare))).toMatchInlineSnapshot(`
      "#0 enable IPv4 forwarding [atomic]
        do: sysctl -w net.ipv4.ip_forward=1
        undo: (none)
      #1 host: 1 namespace(s) and veth(s)
        do: ip -batch -
            | netns add alpha
            | link add nslsabcdefgh1 type veth peer name eth0 netns alpha
            | link set dev nslsabcdefgh1 alias nslab:sabcdefgh1
            | addr add 10.200.0.1/30 dev nslsabcdefgh1
            | link set dev nslsabcdefgh1 up
        undo: ip -force -batch -
            | link del dev nslsabcdefgh1
            | netns del alpha
      #2 inside alpha: addresses, route, lo
        do: ip -n alpha -batch -
            | link set dev lo up
            | addr replace 10.200.0.2/30 dev eth0
            | link set dev eth0 up
            | route replace default via 10.200.0.1 dev eth0
        undo: (none)
      #3 firewall
        do: iptables-restore --noflush --wait
            | *filter
            | :NSLAB-USER - [0:0]
            | :NSLAB-FORWARD - [0:0]
            | :NSLAB-INPUT - [0:0]
            | :NSLAB-EGRESS - [0:0]
            | :NSLAB-INGRESS - [0:0]
            | :NSLAB-GATEWAY - [0:0]
            | :NSLAB-E-sabcdefgh1 - [0:0]
            | :NSLAB-I-sabcdefgh1 - [0:0]
            | -A NSLAB-FORWARD -j NSLAB-USER
            | -A NSLAB-FORWARD -i nsl+ -j NSLAB-EGRESS
            | -A NSLAB-FORWARD -o nsl+ -j NSLAB-INGRESS
            | -A NSLAB-FORWARD -i nsl+ -j ACCEPT
            | -A NSLAB-INPUT -i nsl+ -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
            | -A NSLAB-INPUT -i nsl+ -j NSLAB-GATEWAY
            | -A NSLAB-INPUT -i nsl+ -j DROP
            | -I FORWARD 1 -j NSLAB-FORWARD
            | -I INPUT 1 -j NSLAB-INPUT
            | -A NSLAB-E-sabcdefgh1 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "nslab:sabcdefgh1" -j RETURN
            | -A NSLAB-E-sabcdefgh1 -m comment --comment "nslab:sabcdefgh1:policy" -j RETURN
            | -A NSLAB-I-sabcdefgh1 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "nslab:sabcdefgh1" -j ACCEPT
            | -A NSLAB-I-sabcdefgh1 -m conntrack --ctstate DNAT -m comment --comment "nslab:sabcdefgh1:ports" -j ACCEPT
            | -A NSLAB-I-sabcdefgh1 -m comment --comment "nslab:sabcdefgh1:policy" -j DROP
            | -A NSLAB-EGRESS -i nslsabcdefgh1 -m comment --comment nslab:sabcdefgh1 -j NSLAB-E-sabcdefgh1
            | -A NSLAB-INGRESS -o nslsabcdefgh1 -m comment --comment nslab:sabcdefgh1 -j NSLAB-I-sabcdefgh1
            | -A NSLAB-GATEWAY -d 10.200.0.1/32 -i nslsabcdefgh1 -p icmp -m icmp --icmp-type 8 -m comment --comment nslab:sabcdefgh1 -j ACCEPT
            | COMMIT
            | *nat
            | :NSLAB-PORTS - [0:0]
            | :NSLAB-POSTROUTING - [0:0]
            | -I PREROUTING 1 -m addrtype --dst-type LOCAL -j NSLAB-PORTS
            | -I OUTPUT 1 -m addrtype --dst-type LOCAL -j NSLAB-PORTS
            | -I POSTROUTING 1 -j NSLAB-POSTROUTING
            | -A NSLAB-POSTROUTING -s 10.200.0.0/30 -o eth0 -m comment --comment nslab:sabcdefgh1 -j MASQUERADE
            | COMMIT
        undo: iptables-restore --noflush --wait
            | *filter
            | -D NSLAB-EGRESS -i nslsabcdefgh1 -m comment --comment nslab:sabcdefgh1 -j NSLAB-E-sabcdefgh1
            | -D NSLAB-INGRESS -o nslsabcdefgh1 -m comment --comment nslab:sabcdefgh1 -j NSLAB-I-sabcdefgh1
            | -D NSLAB-GATEWAY -d 10.200.0.1/32 -i nslsabcdefgh1 -p icmp -m icmp --icmp-type 8 -m comment --comment nslab:sabcdefgh1 -j ACCEPT
            | -F NSLAB-E-sabcdefgh1
            | -F NSLAB-I-sabcdefgh1
            | -X NSLAB-E-sabcdefgh1
            | -X NSLAB-I-sabcdefgh1
            | COMMIT
        undo: iptables-restore --noflush --wait
            | *nat
            | -D NSLAB-POSTROUTING -s 10.200.0.0/30 -o eth0 -m comment --comment nslab:sabcdefgh1 -j MASQUERADE
            | COMMIT"
    `);
  });
});

describe("planDelete", () => {
  const afterCreate = () => {
    const ip = IP_EMPTY.split("\n");
    ip[0] = `[{"name":"alpha","id":1},{"name":"world","id":0}]`;
    ip[1] = ip[1]!.replace(
      /\]$/,
      `,{"ifindex":5,"ifname":"nslsabcdefgh1","flags":["UP"],"ifalias":"nslab:sabcdefgh1","link_netnsid":1,"linkinfo":{"info_kind":"veth"},"addr_info":[{"family":"inet","local":"10.200.0.1","prefixlen":30}]}]`,
    );
    const save = BASE_SAVE.replace(
      ":NSLAB-EGRESS - [0:0]",
      ":NSLAB-E-sabcdefgh1 - [0:0]\n:NSLAB-EGRESS - [0:0]\n:NSLAB-I-sabcdefgh1 - [0:0]",
    )
      .replace(
        "-A NSLAB-FORWARD -j NSLAB-USER",
        `-A NSLAB-E-sabcdefgh1 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "nslab:sabcdefgh1" -j RETURN
-A NSLAB-E-sabcdefgh1 -m comment --comment "nslab:sabcdefgh1:policy" -j RETURN
-A NSLAB-EGRESS -i nslsabcdefgh1 -m comment --comment "nslab:sabcdefgh1" -j NSLAB-E-sabcdefgh1
-A NSLAB-FORWARD -j NSLAB-USER`,
      )
      .replace("-A POSTROUTING -j NSLAB-POSTROUTING", `-A POSTROUTING -j NSLAB-POSTROUTING
-A NSLAB-PORTS -p tcp -m tcp --dport 8080 -m comment --comment "nslab:sabcdefgh1:port:pabcdefgh1" -j DNAT --to-destination 10.200.0.2:80
-A NSLAB-POSTROUTING -s 10.200.0.0/30 -o eth0 -m comment --comment "nslab:sabcdefgh1" -j MASQUERADE`);
    return observed(ip.join("\n"), save);
  };

  it("removes what is there, marked rules of other areas (ports) included (golden)", () => {
    expect(renderPlan(planDelete([spec()], afterCreate()))).toMatchInlineSnapshot(`
      "#0 firewall (filter) [atomic]
        do: iptables-restore --noflush --wait
            | *filter
            | -D NSLAB-EGRESS -i nslsabcdefgh1 -m comment --comment nslab:sabcdefgh1 -j NSLAB-E-sabcdefgh1
            | -F NSLAB-E-sabcdefgh1
            | -F NSLAB-I-sabcdefgh1
            | -X NSLAB-E-sabcdefgh1
            | -X NSLAB-I-sabcdefgh1
            | COMMIT
        undo: iptables-restore --noflush --wait
            | *filter
            | :NSLAB-E-sabcdefgh1 - [0:0]
            | :NSLAB-I-sabcdefgh1 - [0:0]
            | -A NSLAB-E-sabcdefgh1 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment nslab:sabcdefgh1 -j RETURN
            | -A NSLAB-E-sabcdefgh1 -m comment --comment nslab:sabcdefgh1:policy -j RETURN
            | -A NSLAB-EGRESS -i nslsabcdefgh1 -m comment --comment nslab:sabcdefgh1 -j NSLAB-E-sabcdefgh1
            | COMMIT
      #1 firewall (nat) [atomic]
        do: iptables-restore --noflush --wait
            | *nat
            | -D NSLAB-PORTS -p tcp -m tcp --dport 8080 -m comment --comment nslab:sabcdefgh1:port:pabcdefgh1 -j DNAT --to-destination 10.200.0.2:80
            | -D NSLAB-POSTROUTING -s 10.200.0.0/30 -o eth0 -m comment --comment nslab:sabcdefgh1 -j MASQUERADE
            | COMMIT
        undo: iptables-restore --noflush --wait
            | *nat
            | -A NSLAB-PORTS -p tcp -m tcp --dport 8080 -m comment --comment nslab:sabcdefgh1:port:pabcdefgh1 -j DNAT --to-destination 10.200.0.2:80
            | -A NSLAB-POSTROUTING -s 10.200.0.0/30 -o eth0 -m comment --comment nslab:sabcdefgh1 -j MASQUERADE
            | COMMIT
      #2 host: remove 1 namespace(s)
        do: ip -batch -
            | link del dev nslsabcdefgh1
            | netns del alpha
        undo: ip -force -batch -
            | netns add alpha
            | link add nslsabcdefgh1 type veth peer name eth0 netns alpha
            | link set dev nslsabcdefgh1 alias nslab:sabcdefgh1
            | addr add 10.200.0.1/30 dev nslsabcdefgh1
            | link set dev nslsabcdefgh1 up
        undo: ip -n alpha -batch -
            | link set dev lo up
            | addr replace 10.200.0.2/30 dev eth0
            | link set dev eth0 up
            | route replace default via 10.200.0.1 dev eth0
      #3 remove resolv.conf of alpha [atomic]
        do: remove /etc/netns/alpha/resolv.conf
        undo: (none)"
    `);
  });

  it("plans nothing but the DNS file for a sandbox that is already gone", () => {
    const steps = planDelete([spec()], observed());
    expect(steps.map((s) => s.do.kind)).toEqual(["remove"]);
  });

  it("never names a foreign namespace or rule", () => {
    const text = renderPlan(planDelete([spec()], afterCreate()));
    expect(text).not.toContain("world");
    expect(text).not.toContain("192.0.2.0/24");
  });
});

describe("planReconcile", () => {
  it("finds nothing to do when the host matches", () => {
    const plan = planReconcile([], observed());
    expect(plan.steps).toEqual([]);
    expect(plan.base).toEqual([]);
  });

  it("re-asserts a jump that is not first and rewrites changed fixed chains", () => {
    const save = BASE_SAVE.replace("-A FORWARD -j NSLAB-FORWARD\n-A FORWARD -s 192.0.2.0/24 -j ACCEPT", "-A FORWARD -s 192.0.2.0/24 -j ACCEPT\n-A FORWARD -j NSLAB-FORWARD").replace(
      "-A NSLAB-INPUT -i nsl+ -j DROP\n",
      "",
    );
    const plan = planReconcile([], observed(IP_EMPTY, save));
    expect(renderPlan(plan.steps)).toMatchInlineSnapshot(`
      "#0 firewall repair [atomic]
        do: iptables-restore --noflush --wait
            | *filter
            | :NSLAB-INPUT - [0:0]
            | -D FORWARD -j NSLAB-FORWARD
            | -A NSLAB-INPUT -i nsl+ -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
            | -A NSLAB-INPUT -i nsl+ -j NSLAB-GATEWAY
            | -A NSLAB-INPUT -i nsl+ -j DROP
            | -I FORWARD 1 -j NSLAB-FORWARD
            | COMMIT
        undo: (none)"
    `);
  });

  it("recreates a missing sandbox and reports the drift", () => {
    const plan = planReconcile([spec()], observed());
    expect(plan.drift.get("alpha")).toEqual(["namespace missing"]);
    expect(renderPlan(plan.steps)).toContain("netns add alpha");
    expect(renderPlan(plan.steps)).toContain("-A NSLAB-POSTROUTING -s 10.200.0.0/30 -o eth0");
  });

  it("diagnoses a sandbox whose chains were flushed", () => {
    const o = observed();
    o.namespaces.push({ name: "alpha", id: 1 });
    o.links.push({ name: "nslsabcdefgh1", index: 9, alias: "nslab:sabcdefgh1", kind: "veth", up: true, peerNetnsId: 1, addresses: [{ address: "10.200.0.1", prefix: 30, family: "inet" }], rxBytes: 0, txBytes: 0 });
    expect(diagnose(spec(), o)).toEqual([
      "filter NSLAB-EGRESS rule missing",
      "filter NSLAB-INGRESS rule missing",
      "filter NSLAB-GATEWAY rule missing",
      "nat NSLAB-POSTROUTING rule missing",
      "chain NSLAB-E-sabcdefgh1 missing",
      "chain NSLAB-I-sabcdefgh1 missing",
    ]);
  });

  /** The host as the engine left `sp` (namespace, veth, shared lines), its chains as `chainLines`, NSLAB-PORTS as `ports`. */
  const wiredHost = (sp: SandboxSpec, chainLines: string[], ports: string[] = []) => {
    const ip = IP_EMPTY.split("\n");
    ip[0] = `[{"name":"alpha","id":1},{"name":"world","id":0}]`;
    ip[1] = ip[1]!.replace(
      /\]$/,
      `,{"ifindex":5,"ifname":"nslsabcdefgh1","flags":["UP"],"ifalias":"nslab:sabcdefgh1","link_netnsid":1,"linkinfo":{"info_kind":"veth"},"addr_info":[{"family":"inet","local":"10.200.0.1","prefixlen":30}]}]`,
    );
    const shared = sandboxLines(sp);
    const save = BASE_SAVE.replace(":NSLAB-EGRESS - [0:0]", ":NSLAB-E-sabcdefgh1 - [0:0]\n:NSLAB-EGRESS - [0:0]\n:NSLAB-I-sabcdefgh1 - [0:0]")
      .replace("-A NSLAB-FORWARD -j NSLAB-USER", [...chainLines, ...shared.filter.map((l) => `-A ${l.chain} ${l.spec}`), "-A NSLAB-FORWARD -j NSLAB-USER"].join("\n"))
      .replace("-A POSTROUTING -j NSLAB-POSTROUTING", ["-A POSTROUTING -j NSLAB-POSTROUTING", ...ports, ...shared.nat.map((l) => `-A ${l.chain} ${l.spec}`)].join("\n"));
    return observed(ip.join("\n"), save);
  };
  const twoRules = spec({
    rules: [
      { id: "r000000001", direction: "egress", action: "drop", protocol: "tcp", peer: null, ports: "1001" },
      { id: "r000000002", direction: "egress", action: "accept", protocol: "udp", peer: null, ports: "1002" },
    ],
  });

  it("finds a sandbox whose chains match the store in order; rules swapped in the middle are drift and get rewritten", () => {
    const lines = renderedChainRules(twoRules);
    expect(diagnose(twoRules, wiredHost(twoRules, lines))).toEqual([]);
    expect(planReconcile([twoRules], wiredHost(twoRules, lines)).steps).toEqual([]);
    // Same length, same last line: only the middle differs.
    const swapped = [lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)];
    expect(diagnose(twoRules, wiredHost(twoRules, swapped))).toEqual(["chain NSLAB-E-sabcdefgh1 differs"]);
    const plan = planReconcile([twoRules], wiredHost(twoRules, swapped));
    expect(plan.repaired).toEqual([{ sandbox: "alpha", what: "chain NSLAB-E-sabcdefgh1 differs" }]);
    const text = renderPlan(plan.steps);
    expect(text).toContain(":NSLAB-E-sabcdefgh1 - [0:0]");
    expect(text.indexOf("rule:r000000001")).toBeLessThan(text.indexOf("rule:r000000002", text.indexOf(":NSLAB-E-sabcdefgh1")));
    // An edited rule in the middle is drift too.
    const edited = lines.map((l) => l.replace("--dport 1001", "--dport 1003"));
    expect(diagnose(twoRules, wiredHost(twoRules, edited))).toEqual(["chain NSLAB-E-sabcdefgh1 differs"]);
  });

  describe("chunk chains", () => {
    const many = (n: number): FilterRuleSpec[] =>
      Array.from({ length: n }, (_, k) => ({ id: `r${String(k).padStart(9, "0")}`, direction: "egress", action: "drop", protocol: "tcp", peer: null, ports: String(1000 + k) }));
    const chunked = spec({ rules: canonicalChunks(many(250)) });
    /** wiredHost with the chunk chains `chains` declared too. */
    const withChains = (sp: SandboxSpec, lines: string[], chains: string[]) => {
      const o = wiredHost(sp, lines);
      for (const c of chains) o.tables!.filter.chains.set(c, "-");
      return o;
    };

    it("compares every chunk chain whole: the same rules in other chunks are drift", () => {
      const lines = renderedChainRules(chunked);
      const chains = ["NSLAB-E-sabcdefgh1-1", "NSLAB-E-sabcdefgh1-2"];
      expect(diagnose(chunked, withChains(chunked, lines, chains))).toEqual([]);
      expect(planReconcile([chunked], withChains(chunked, lines, chains)).steps).toEqual([]);
      // Rule 100 at the end of chunk 0 instead of the start of chunk 1: same order of rules overall.
      const otherLayout = spec({ rules: chunked.rules.map((r, k) => (k === 100 ? { ...r, chunk: 0 } : r)) });
      expect(diagnose(chunked, withChains(chunked, renderedChainRules(otherLayout), chains))).toEqual([
        "chain NSLAB-E-sabcdefgh1 differs",
        "chain NSLAB-E-sabcdefgh1-1 differs",
      ]);
      // A chunk chain missing, and one the store's layout does not have.
      expect(diagnose(chunked, withChains(chunked, lines, ["NSLAB-E-sabcdefgh1-1"]))).toEqual(["chain NSLAB-E-sabcdefgh1-2 missing"]);
      const extra = withChains(chunked, [...lines, '-A NSLAB-E-sabcdefgh1-7 -m comment --comment "nslab:sabcdefgh1:rule:r000000001" -j DROP'], [...chains, "NSLAB-E-sabcdefgh1-7"]);
      expect(diagnose(chunked, extra)).toEqual(["chain NSLAB-E-sabcdefgh1-7 not in the store"]);
      const text = renderPlan(planReconcile([chunked], extra).steps);
      expect(text).toContain("| -F NSLAB-E-sabcdefgh1-7");
      expect(text).toContain("| -X NSLAB-E-sabcdefgh1-7");
      expect(text).toContain("| :NSLAB-E-sabcdefgh1-2 - [0:0]");
    });

    it("removes the chunk chains of a sandbox the store does not have, and deletes take a sandbox's chunk chains along", () => {
      const lines = renderedChainRules(chunked);
      const chains = ["NSLAB-E-sabcdefgh1-1", "NSLAB-E-sabcdefgh1-2"];
      const orphan = planReconcile([], withChains(chunked, lines, chains));
      for (const c of ["NSLAB-E-sabcdefgh1", "NSLAB-I-sabcdefgh1", ...chains]) {
        expect(orphan.removed).toContainEqual({ object: `chain ${c}`, what: "chain of a sandbox (sabcdefgh1) the store does not have" });
        expect(renderPlan(orphan.steps)).toContain(`| -X ${c}\n`);
      }
      // Delete from a full read: whatever chains of the sandbox are there, its chunks included.
      const full = renderPlan(planDelete([spec()], withChains(chunked, lines, chains)));
      for (const c of chains) expect(full).toContain(`| -X ${c}\n`);
      // Delete from the store: the chunk chains its layout has.
      const fast = renderPlan(planDeleteFast([chunked], { namespaces: [] }));
      for (const c of chains) {
        expect(fast).toContain(`| -F ${c}\n`);
        expect(fast).toContain(`| -X ${c}\n`);
      }
      expect(fast).not.toContain("NSLAB-E-sabcdefgh1-3");
    });
  });

  it("rewrites NSLAB-PORTS from the store when it differs, and only then", () => {
    const port = renderPortRule({ id: "pabcdefgh1", sandboxId: "sabcdefgh1", protocol: "tcp", hostPort: 8080, sandboxPort: 80, address: "10.200.0.2" });
    const orphan = renderPortRule({ id: "pzzzzzzzz1", sandboxId: "szzzzzzzz1", protocol: "tcp", hostPort: 9090, sandboxPort: 80, address: "10.200.0.6" });
    const lines = renderedChainRules(spec());
    // In order: nothing to do.
    expect(planReconcile([spec()], wiredHost(spec(), lines, [port]), { ports: [port] })).toMatchObject({ steps: [], ports: [] });
    // Flushed by hand: rewritten whole.
    const flushed = planReconcile([spec()], wiredHost(spec(), lines), { ports: [port] });
    expect(flushed.ports).toEqual(["nat chain NSLAB-PORTS rewritten from the store: it held 0 line(s), the store has 1 published port(s)"]);
    expect(renderPlan(flushed.steps)).toContain(":NSLAB-PORTS - [0:0]");
    expect(renderPlan(flushed.steps)).toContain(port);
    // A line of a sandbox the store does not have: reported as removed, gone with the rewrite (no -D after the flush).
    const extra = planReconcile([spec()], wiredHost(spec(), lines, [port, orphan]), { ports: [port] });
    expect(extra.removed).toEqual([{ object: "nat NSLAB-PORTS rule", what: "rule of a sandbox (szzzzzzzz1) the store does not have" }]);
    expect(renderPlan(extra.steps)).not.toContain("-D NSLAB-PORTS");
    expect(renderPlan(extra.steps)).not.toContain("9090");
    // Without `ports` the chain is left alone (only orphan lines removed).
    expect(renderPlan(planReconcile([spec()], wiredHost(spec(), lines)).steps)).not.toContain(":NSLAB-PORTS");
  });

  it("removes marked objects the store does not want and leaves unmarked ones", () => {
    const ip = IP_EMPTY.split("\n");
    ip[0] = `[{"name":"orphan","id":1},{"name":"world","id":0}]`;
    ip[1] = ip[1]!.replace(/\]$/, `,{"ifindex":5,"ifname":"nslszzzzzzzz1","flags":["UP"],"ifalias":"nslab:szzzzzzzz1","link_netnsid":1,"addr_info":[]}]`);
    const plan = planReconcile([], observed(ip.join("\n")));
    const text = renderPlan(plan.steps);
    expect(text).toContain("link del dev nslszzzzzzzz1");
    expect(text).toContain("netns del orphan");
    expect(text).not.toContain("world");
  });
});

describe("apply", () => {
  const steps = () => planCreate([spec()], observed());

  it("runs every step in order through the runner", async () => {
    const runner = new FakeRunner();
    await apply(runner, steps());
    expect(runner.log.map((c) => c.argv.join(" "))).toEqual([
      "ip -batch -",
      "ip -n alpha -batch -",
      "iptables-restore --noflush --wait",
    ]);
  });

  it("undoes the steps done, newest first, and reports the command and stderr", async () => {
    const runner = new FakeRunner((command, index) =>
      index === 2 ? new CommandError(command.argv, 1, "", "iptables-restore: line 2 failed\n", false) : undefined,
    );
    const error = await apply(runner, steps()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).appCode).toBe("APPLY_FAILED");
    expect((error as AppError).detail.command).toEqual(["iptables-restore", "--noflush", "--wait"]);
    expect((error as AppError).detail.stderr).toBe("iptables-restore: line 2 failed");
    // After the failed restore (filter and nat sections): its own undo per table, then the host batch's.
    expect(runner.log.slice(3).map((c) => `${c.argv.join(" ")}\n${c.input}`)).toMatchInlineSnapshot(`
      [
        "iptables-restore --noflush --wait
      *filter
      -D NSLAB-EGRESS -i nslsabcdefgh1 -m comment --comment nslab:sabcdefgh1 -j NSLAB-E-sabcdefgh1
      -D NSLAB-INGRESS -o nslsabcdefgh1 -m comment --comment nslab:sabcdefgh1 -j NSLAB-I-sabcdefgh1
      -D NSLAB-GATEWAY -d 10.200.0.1/32 -i nslsabcdefgh1 -p icmp -m icmp --icmp-type 8 -m comment --comment nslab:sabcdefgh1 -j ACCEPT
      -F NSLAB-E-sabcdefgh1
      -F NSLAB-I-sabcdefgh1
      -X NSLAB-E-sabcdefgh1
      -X NSLAB-I-sabcdefgh1
      COMMIT
      ",
        "iptables-restore --noflush --wait
      *nat
      -D NSLAB-POSTROUTING -s 10.200.0.0/30 -o eth0 -m comment --comment nslab:sabcdefgh1 -j MASQUERADE
      COMMIT
      ",
        "ip -force -batch -
      link del dev nslsabcdefgh1
      netns del alpha
      ",
      ]
    `);
  });
});

describe("planDeleteFast", () => {
  it("renders the deletion from the store in one restore and one ip batch (golden)", () => {
    const o = observed();
    o.namespaces.push({ name: "alpha", id: 1 });
    expect(renderPlan(planDeleteFast([spec()], o, { without: [":NSLAB-PORTS - [0:0]"], all: [":NSLAB-PORTS - [0:0]", "-A NSLAB-PORTS -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.200.0.2:80"] }))).toMatchInlineSnapshot(`
      "#0 firewall (filter) [atomic]
        do: iptables-restore --noflush --wait
            | *filter
            | -D NSLAB-EGRESS -i nslsabcdefgh1 -m comment --comment nslab:sabcdefgh1 -j NSLAB-E-sabcdefgh1
            | -D NSLAB-INGRESS -o nslsabcdefgh1 -m comment --comment nslab:sabcdefgh1 -j NSLAB-I-sabcdefgh1
            | -D NSLAB-GATEWAY -d 10.200.0.1/32 -i nslsabcdefgh1 -p icmp -m icmp --icmp-type 8 -m comment --comment nslab:sabcdefgh1 -j ACCEPT
            | -F NSLAB-E-sabcdefgh1
            | -F NSLAB-I-sabcdefgh1
            | -X NSLAB-E-sabcdefgh1
            | -X NSLAB-I-sabcdefgh1
            | COMMIT
        undo: iptables-restore --noflush --wait
            | *filter
            | :NSLAB-E-sabcdefgh1 - [0:0]
            | :NSLAB-I-sabcdefgh1 - [0:0]
            | -A NSLAB-E-sabcdefgh1 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "nslab:sabcdefgh1" -j RETURN
            | -A NSLAB-E-sabcdefgh1 -m comment --comment "nslab:sabcdefgh1:policy" -j RETURN
            | -A NSLAB-I-sabcdefgh1 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "nslab:sabcdefgh1" -j ACCEPT
            | -A NSLAB-I-sabcdefgh1 -m conntrack --ctstate DNAT -m comment --comment "nslab:sabcdefgh1:ports" -j ACCEPT
            | -A NSLAB-I-sabcdefgh1 -m comment --comment "nslab:sabcdefgh1:policy" -j DROP
            | -A NSLAB-EGRESS -i nslsabcdefgh1 -m comment --comment nslab:sabcdefgh1 -j NSLAB-E-sabcdefgh1
            | -A NSLAB-INGRESS -o nslsabcdefgh1 -m comment --comment nslab:sabcdefgh1 -j NSLAB-I-sabcdefgh1
            | -A NSLAB-GATEWAY -d 10.200.0.1/32 -i nslsabcdefgh1 -p icmp -m icmp --icmp-type 8 -m comment --comment nslab:sabcdefgh1 -j ACCEPT
            | COMMIT
      #1 firewall (nat) [atomic]
        do: iptables-restore --noflush --wait
            | *nat
            | :NSLAB-PORTS - [0:0]
            | -D NSLAB-POSTROUTING -s 10.200.0.0/30 -o eth0 -m comment --comment nslab:sabcdefgh1 -j MASQUERADE
            | COMMIT
        undo: iptables-restore --noflush --wait
            | *nat
            | :NSLAB-PORTS - [0:0]
            | -A NSLAB-POSTROUTING -s 10.200.0.0/30 -o eth0 -m comment --comment nslab:sabcdefgh1 -j MASQUERADE
            | -A NSLAB-PORTS -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.200.0.2:80
            | COMMIT
      #2 host: remove 1 namespace(s)
        do: ip -batch -
            | link del dev nslsabcdefgh1
            | netns del alpha
        undo: ip -force -batch -
            | netns add alpha
            | link add nslsabcdefgh1 type veth peer name eth0 netns alpha
            | link set dev nslsabcdefgh1 alias nslab:sabcdefgh1
            | addr add 10.200.0.1/30 dev nslsabcdefgh1
            | link set dev nslsabcdefgh1 up
        undo: ip -n alpha -batch -
            | link set dev lo up
            | addr replace 10.200.0.2/30 dev eth0
            | link set dev eth0 up
            | route replace default via 10.200.0.1 dev eth0
      #3 remove resolv.conf of alpha [atomic]
        do: remove /etc/netns/alpha/resolv.conf
        undo: (none)"
    `);
  });
});
