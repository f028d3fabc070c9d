/**
 * Address allocation: sandboxes get /30 blocks from NSLAB_POOL (host end .1, sandbox
 * .2), never overlapping an address or route on the host or another sandbox. Address
 * arithmetic is done by the `ip-address` library. Pure functions.
 */
import { Address4 } from "ip-address";
import { z } from "zod";
import type { Observed } from "../net/observe";

/** A block of IPv4 addresses as numbers, inclusive. */
export interface Range {
  start: bigint;
  end: bigint;
  /** What uses it, for conflict messages. */
  by: string;
}

export const BLOCK_PREFIX = 30;

/** A subnet a user may ask for: an IPv4 network address with a /8../30 prefix. */
export const subnetSchema = z
  .string()
  .max(18)
  .superRefine((value, ctx) => {
    if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(value) || !Address4.isValid(value)) {
      ctx.addIssue({ code: "custom", message: "must be an IPv4 CIDR like 10.50.0.0/30" });
      return;
    }
    const prefix = Number(value.split("/")[1]);
    if (prefix < 8 || prefix > 30) {
      ctx.addIssue({ code: "custom", message: "the prefix must be between /8 and /30" });
      return;
    }
    const a = new Address4(value);
    if (a.startAddress().address !== value.split("/")[0]) {
      ctx.addIssue({ code: "custom", message: `not a network address: did you mean ${a.startAddress().address}/${prefix}?` });
    }
  });

// Parsed CIDRs, kept: allocation sees the same few hundred subnets on every create.
const parsed = new Map<string, { start: bigint; end: bigint }>();

export function rangeOf(cidr: string, by: string): Range {
  let r = parsed.get(cidr);
  if (!r) {
    const a = new Address4(cidr);
    r = { start: a.startAddress().bigInt(), end: a.endAddress().bigInt() };
    if (parsed.size > 50_000) parsed.clear();
    parsed.set(cidr, r);
  }
  return { start: r.start, end: r.end, by };
}

const overlaps = (a: Range, b: Range) => a.start <= b.end && b.start <= a.end;

/** Host end (.1 of the block) and sandbox end (.2). */
export function addressesOf(subnet: string): { hostAddress: string; address: string } {
  const start = new Address4(subnet).startAddress().bigInt();
  return { hostAddress: Address4.fromBigInt(start + 1n).address, address: Address4.fromBigInt(start + 2n).address };
}

/** Everything already taken: host addresses (their networks), host routes, sandboxes' subnets. */
export function usedRanges(
  observed: Pick<Observed, "links" | "routes" | "localAddresses">,
  sandboxSubnets: { name: string; subnet: string | null }[],
): Range[] {
  const used: Range[] = [];
  for (const cidr of observed.localAddresses ?? []) used.push(rangeOf(cidr, `address ${cidr} on the host`));
  for (const link of observed.links) {
    for (const a of link.addresses) {
      if (a.family !== "inet") continue;
      used.push(rangeOf(`${a.address}/${a.prefix}`, `address ${a.address}/${a.prefix} on ${link.name}`));
    }
  }
  for (const route of observed.routes) {
    if (!route.dst || route.dst === "default") continue;
    const dst = route.dst.includes("/") ? route.dst : `${route.dst}/32`;
    if (!Address4.isValid(dst)) continue;
    used.push(rangeOf(dst, `route ${route.dst}${route.dev ? ` dev ${route.dev}` : ""}`));
  }
  for (const s of sandboxSubnets) if (s.subnet) used.push(rangeOf(s.subnet, `sandbox ${s.name}`));
  return used;
}

/** What a requested subnet overlaps, or null when it is free. */
export function conflictOf(subnet: string, used: readonly Range[]): Range | null {
  const want = rangeOf(subnet, "requested");
  return used.find((u) => overlaps(want, u)) ?? null;
}

/** The first free /30 in `pool`, or null when the pool is full. */
export function allocateBlock(pool: string, used: readonly Range[]): string | null {
  const p = rangeOf(pool, "pool");
  const size = 1n << BigInt(32 - BLOCK_PREFIX);
  const inPool = used.filter((u) => overlaps(u, p)).sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  let candidate = p.start;
  for (const u of inPool) {
    // Skip every block that overlaps u.
    if (candidate + size - 1n < u.start) break;
    if (u.end >= candidate) candidate = ((u.end + 1n + size - 1n) / size) * size;
  }
  if (candidate + size - 1n > p.end) return null;
  return `${Address4.fromBigInt(candidate).address}/${BLOCK_PREFIX}`;
}
