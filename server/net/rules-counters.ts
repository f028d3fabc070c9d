import { MARK } from "./names";
import { idOfSandboxChain } from "./layout";

/** Packet and byte counters of one kernel rule. */
export interface Counter {
  packets: number;
  bytes: number;
}

/** The live counters of one sandbox's chains, keyed the way the API shows them. */
export interface SandboxCounters {
  /** Per rule id (from the `nslab:<id>:rule:<ruleId>` marks). */
  rules: Map<string, Counter>;
  /** The catch-all policy lines (`nslab:<id>:policy`); null when the chain is missing. */
  egressPolicy: Counter | null;
  ingressPolicy: Counter | null;
}

/** The argv that reads every filter counter in one command (`[packets:bytes] -A ...`). */
export const COUNTERS_ARGV = ["iptables-save", "-c", "-t", "filter"] as const;

// `[12:3456] -A NSLAB-E-<id> ... --comment "nslab:<id>:rule:<ruleId>" ...`; counters are
// exact decimal numbers in iptables-save -c (no K/M suffixes, unlike `iptables -L -v`).
const LINE = /^\[(\d+):(\d+)\] -A (\S+) /;
const COMMENT = new RegExp(`--comment "?(${MARK}:[a-z][0-9a-z]{9}(?::[A-Za-z0-9_.:-]+)?)"?(?:\\s|$)`);

/**
 * Reads the counters of sandbox `sandboxId` out of `iptables-save -c -t filter` output:
 * only lines of its own chains count (the two heads and their chunk chains), mapped to
 * rule ids by their marks. A rule the kernel does not hold (drift) is simply absent from
 * the map. The policy line closes the last chunk of its direction.
 */
export function parseSandboxCounters(saved: string, sandboxId: string): SandboxCounters {
  const rulePrefix = `${MARK}:${sandboxId}:rule:`;
  const policy = `${MARK}:${sandboxId}:policy`;
  const out: SandboxCounters = { rules: new Map(), egressPolicy: null, ingressPolicy: null };
  for (const line of saved.split("\n")) {
    // Cheap test first: the whole filter table passes through here on every rule.list.
    if (!line.includes(sandboxId)) continue;
    const m = LINE.exec(line);
    if (!m || idOfSandboxChain(m[3]!) !== sandboxId) continue;
    const mark = COMMENT.exec(line)?.[1];
    if (!mark) continue;
    const counter = { packets: Number(m[1]), bytes: Number(m[2]) };
    if (mark.startsWith(rulePrefix)) {
      const ruleId = mark.slice(rulePrefix.length);
      const seen = out.rules.get(ruleId);
      // A rule appears once; if the kernel somehow holds it twice, show the sum.
      out.rules.set(ruleId, seen ? { packets: seen.packets + counter.packets, bytes: seen.bytes + counter.bytes } : counter);
    } else if (mark === policy) {
      if (m[3]!.startsWith("NSLAB-E-")) out.egressPolicy = counter;
      else out.ingressPolicy = counter;
    }
  }
  return out;
}
