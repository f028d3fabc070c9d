import { describe, expect, it } from "vitest";
import { addressesOf, allocateBlock, conflictOf, rangeOf, subnetSchema, usedRanges } from "./allocation";

const host = {
  links: [
    { name: "lo", index: 1, alias: null, kind: null, up: true, peerNetnsId: null, addresses: [{ address: "127.0.0.1", prefix: 8, family: "inet" as const }], rxBytes: 0, txBytes: 0 },
    { name: "eth0", index: 2, alias: null, kind: null, up: true, peerNetnsId: null, addresses: [{ address: "10.200.0.9", prefix: 32, family: "inet" as const }], rxBytes: 0, txBytes: 0 },
  ],
  routes: [
    { dst: "default", dev: "eth0", gateway: "203.0.113.1" },
    { dst: "10.200.0.16/29", dev: "eth0", gateway: null },
  ],
};

describe("allocation", () => {
  it("gives the first free /30 of the pool, skipping host addresses, routes and sandboxes", () => {
    const used = usedRanges(host, [{ name: "a", subnet: "10.200.0.0/30" }]);
    expect(allocateBlock("10.200.0.0/16", used)).toBe("10.200.0.4/30");
    used.push(rangeOf("10.200.0.4/30", "b"));
    // .8/30 holds the host's 10.200.0.9; .12/30 is free.
    expect(allocateBlock("10.200.0.0/16", used)).toBe("10.200.0.12/30");
    used.push(rangeOf("10.200.0.12/30", "c"));
    // .16/29 is a route: next is .24/30.
    expect(allocateBlock("10.200.0.0/16", used)).toBe("10.200.0.24/30");
  });

  it("reports exhaustion", () => {
    const used = [rangeOf("10.9.0.0/29", "x")];
    expect(allocateBlock("10.9.0.0/29", used)).toBeNull();
    expect(allocateBlock("10.9.0.0/28", used)).toBe("10.9.0.8/30");
  });

  it("hands out distinct blocks until the pool is full", () => {
    const used: ReturnType<typeof rangeOf>[] = [];
    const seen = new Set<string>();
    for (;;) {
      const block = allocateBlock("10.1.0.0/24", used);
      if (!block) break;
      expect(seen.has(block)).toBe(false);
      seen.add(block);
      used.push(rangeOf(block, block));
    }
    expect(seen.size).toBe(64);
  });

  it("finds what a requested subnet overlaps; the default route overlaps nothing", () => {
    const used = usedRanges(host, []);
    expect(conflictOf("10.200.0.8/30", used)?.by).toBe("address 10.200.0.9/32 on eth0");
    expect(conflictOf("127.1.0.0/30", used)?.by).toBe("address 127.0.0.1/8 on lo");
    expect(conflictOf("192.168.7.0/30", used)).toBeNull();
  });

  it("puts the host end on .1 and the sandbox on .2", () => {
    expect(addressesOf("10.200.1.4/30")).toEqual({ hostAddress: "10.200.1.5", address: "10.200.1.6" });
  });

  it("accepts only network CIDRs of /8 to /30", () => {
    for (const bad of ["10.0.0.0/33", "999.1.1.1/30", "10.0.0.1/30", "10.0.0.0/31", "10.0.0.0", "-1.0.0.0/30", "10.0.0.0/30 ", "a.b.c.d/30"]) {
      expect(subnetSchema.safeParse(bad).success, bad).toBe(false);
    }
    expect(subnetSchema.safeParse("10.0.0.4/30").success).toBe(true);
    expect(subnetSchema.safeParse("10.50.0.0/24").success).toBe(true);
  });
});
