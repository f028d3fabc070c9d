import { describe, expect, it } from "vitest";
import { parseFibTrieLocal, parseIpObserve, parseJsonLines, parseProcRoute } from "./observe";

describe("light observation parsers", () => {
  it("reads local addresses from /proc/net/fib_trie (down links and /32s included)", () => {
    const text = `Main:
  +-- 0.0.0.0/0 3 0 5
        |-- 0.0.0.0
           /0 universe UNICAST
           |-- 10.8.0.1
              /32 host LOCAL
           |-- 10.9.9.9
              /32 host LOCAL
           |-- 127.0.0.0
              /8 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
           |-- 203.0.113.0
              /24 link UNICAST
           |-- 203.0.113.10
              /32 host LOCAL
Local:
           |-- 10.8.0.1
              /32 host LOCAL
`;
    expect(parseFibTrieLocal(text)).toEqual(["10.8.0.1/32", "10.9.9.9/32", "127.0.0.0/8", "203.0.113.10/32"]);
  });

  it("reads IPv4 routes from /proc/net/route", () => {
    const text = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t017100CB\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t007100CB\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
nslx\t0000C80A\t00000000\t0001\t0\t0\t0\tFCFFFFFF\t0\t0\t0
`;
    expect(parseProcRoute(text)).toEqual([
      { dst: "default", dev: "eth0", gateway: "203.0.113.1" },
      { dst: "203.0.113.0/24", dev: "eth0", gateway: null },
      { dst: "10.200.0.0/30", dev: "nslx", gateway: null },
    ]);
  });

  it("splits ip -j -batch output and maps links, aliases, peers and counters", () => {
    const text = `[{"name":"a","id":1}]\n[{"ifindex":5,"ifname":"nslx","flags":["UP"],"ifalias":"nslab:x","link_netnsid":1,"linkinfo":{"info_kind":"veth"},"addr_info":[{"family":"inet","local":"10.200.0.1","prefixlen":30}],"stats64":{"rx":{"bytes":7},"tx":{"bytes":9}}}]\n[]\n`;
    expect(parseJsonLines(text)).toHaveLength(3);
    expect(parseIpObserve(text).links[0]).toEqual({
      name: "nslx", index: 5, alias: "nslab:x", kind: "veth", up: true, peerNetnsId: 1,
      addresses: [{ address: "10.200.0.1", prefix: 30, family: "inet" }], rxBytes: 7, txBytes: 9,
    });
  });
});
