/**
 * Reading `iptables-save` output and writing `iptables-restore --noflush` input.
 * Pure text work: no process is run here.
 */

/** One rule as `iptables-save` prints it: `-A <chain> <spec>`. */
export interface IptRule {
  chain: string;
  /** Everything after `-A <chain> `, normalized (see `normalizeSpec`). */
  spec: string;
}

export interface IptTable {
  /** Chain name → policy (`-` for user chains). */
  chains: Map<string, string>;
  /** Rules in the order the kernel evaluates them, chain by chain. */
  rules: IptRule[];
}

export type TableName = "filter" | "nat";
export type Tables = Record<TableName, IptTable>;

/**
 * Canonical text of a rule spec, so rendered lines and saved lines compare equal:
 * whitespace collapsed and the quotes iptables-save puts around a comment without
 * spaces removed (`--comment "nslab:x"` → `--comment nslab:x`).
 */
export function normalizeSpec(spec: string): string {
  return spec
    .trim()
    .replace(/\s+/g, " ")
    .replace(/--comment "([^"\s\\]*)"/g, "--comment $1");
}

const emptyTable = (): IptTable => ({ chains: new Map(), rules: [] });

/** Parses the whole output of `iptables-save` (every table it printed). */
export function parseIptablesSave(text: string): Tables {
  const tables: Tables = { filter: emptyTable(), nat: emptyTable() };
  let current: IptTable | null = null;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    if (line.startsWith("*")) {
      const name = line.slice(1);
      current = name === "filter" || name === "nat" ? tables[name] : null;
      continue;
    }
    if (!current || line === "COMMIT") continue;
    if (line.startsWith(":")) {
      const [chain, policy] = line.slice(1).split(/\s+/);
      if (chain) current.chains.set(chain, policy ?? "-");
      continue;
    }
    const m = /^-A (\S+) (.*)$/.exec(line);
    if (m) current.rules.push({ chain: m[1]!, spec: normalizeSpec(m[2]!) });
  }
  return tables;
}

/** The rules of one chain, in order. */
export function chainRules(table: IptTable, chain: string): string[] {
  return table.rules.filter((r) => r.chain === chain).map((r) => r.spec);
}

/**
 * A restore text for one table, ordered so it always applies: chain declarations
 * (which create or flush), then deletions of rules, flushes, chain removals, and last
 * the rules added. Returns null when there is nothing to do.
 */
export function restoreText(table: TableName, parts: RestoreParts): string | null {
  const lines = [
    ...parts.declare.map((c) => `:${c} - [0:0]`),
    ...parts.remove.map((r) => `-D ${r.chain} ${r.spec}`),
    ...parts.flush.map((c) => `-F ${c}`),
    ...parts.drop.map((c) => `-X ${c}`),
    ...parts.add,
  ];
  if (lines.length === 0) return null;
  return `*${table}\n${lines.join("\n")}\nCOMMIT\n`;
}

export interface RestoreParts {
  /** Chains to create, or flush when they exist. */
  declare: string[];
  /** Rules to delete (by their saved spec). */
  remove: IptRule[];
  /** Chains to flush, then `drop` removes them. */
  flush: string[];
  drop: string[];
  /** Lines added last: `-A ...` or `-I ...`. */
  add: string[];
}

export const emptyParts = (): RestoreParts => ({ declare: [], remove: [], flush: [], drop: [], add: [] });

/** True when the parts hold nothing. */
export const partsEmpty = (p: RestoreParts) =>
  p.declare.length + p.remove.length + p.flush.length + p.drop.length + p.add.length === 0;
