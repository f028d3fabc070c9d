import { describe, expect, it } from "vitest";
import { parseProcNet, renderPortsChain, renderPortsRestore, savedPortRules, type PortSpec } from "./ports-nat";

const port = (over: Partial<PortSpec> = {}): PortSpec => ({
  id: "p000000001",
  sandboxId: "sabcdefghi",
  protocol: "tcp",
  hostPort: 8081,
  sandboxPort: 80,
  address: "10.200.0.2",
  ...over,
});

describe("renderPortsChain", () => {
  it("rewrites NSLAB-PORTS whole, sorted, in iptables-save's form (golden)", () => {
    expect(renderPortsChain([port({ id: "p000000002", protocol: "udp", hostPort: 53, sandboxPort: 5353 }), port()])).toEqual([
      ":NSLAB-PORTS - [0:0]",
      '-A NSLAB-PORTS -p tcp -m tcp --dport 8081 -m comment --comment "nslab:sabcdefghi:port:p000000001" -j DNAT --to-destination 10.200.0.2:80',
      '-A NSLAB-PORTS -p udp -m udp --dport 53 -m comment --comment "nslab:sabcdefghi:port:p000000002" -j DNAT --to-destination 10.200.0.2:5353',
    ]);
  });

  it("inserts the jumps only when the saved nat table lacks them", () => {
    const none = renderPortsChain([], "*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n");
    expect(none).toEqual([
      ":NSLAB-PORTS - [0:0]",
      "-I PREROUTING 1 -m addrtype --dst-type LOCAL -j NSLAB-PORTS",
      "-I OUTPUT 1 -m addrtype --dst-type LOCAL -j NSLAB-PORTS",
    ]);
    const both = renderPortsChain([], "-A PREROUTING -m addrtype --dst-type LOCAL -j NSLAB-PORTS\n[1:2] -A OUTPUT -m addrtype --dst-type LOCAL -j NSLAB-PORTS\n");
    expect(both).toEqual([":NSLAB-PORTS - [0:0]"]);
    expect(renderPortsRestore([])).toBe("*nat\n:NSLAB-PORTS - [0:0]\nCOMMIT\n");
  });

  it("refuses unvalidated ports", () => {
    expect(() => renderPortsChain([port({ hostPort: 0 })])).toThrow(TypeError);
    expect(() => renderPortsChain([port({ address: "10.0.0.1 -j ACCEPT" })])).toThrow(TypeError);
    expect(() => renderPortsChain([port({ protocol: "icmp" as "tcp" })])).toThrow(TypeError);
  });

  it("reads NSLAB-PORTS lines back", () => {
    expect(savedPortRules("[0:0] -A NSLAB-PORTS -p tcp -j X\n-A PREROUTING -j NSLAB-PORTS\n")).toEqual(["-A NSLAB-PORTS -p tcp -j X"]);
  });
});

describe("parseProcNet", () => {
  const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 48 1 0 100 0 0 10 0
   1: 0100007F:8CE3 0100007F:C0DE 01 00000000:00000000 00:00000000 00000000     0        0 15917 1 0 20 4 29 12 -1
`;
  it("keeps TCP listeners only", () => {
    expect([...parseProcNet(tcp, "tcp")]).toEqual([0x7e8]);
  });
  it("keeps every bound UDP port", () => {
    const udp = `  sl  local_address rem_address   st
  10: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0 0
`;
    expect([...parseProcNet(udp, "udp")]).toEqual([53]);
  });
  it("reads IPv6 lines", () => {
    const tcp6 = `  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 0
`;
    expect([...parseProcNet(tcp6, "tcp")]).toEqual([8080]);
  });
});

describe("marks of published ports", () => {
  it("carry the sandbox id as idOfMark reads it (so the engine's delete and reconcile find them)", async () => {
    const { idOfMark } = await import("./names");
    const line = renderPortsChain([port()])[1]!;
    expect(idOfMark(line)).toBe("sabcdefghi");
    expect(idOfMark(line.replace(/"/g, ""))).toBe("sabcdefghi");
    expect(idOfMark('--comment "nslab:sabcdefghi:rule:r000000001"')).toBe("sabcdefghi");
    expect(idOfMark("--comment nslab:sabcdefghi")).toBe("sabcdefghi");
    expect(idOfMark("--comment nslab:sabcdefghi;x")).toBeNull();
  });
});
