import { randomBytes } from "node:crypto";

/**
 * Kernel names nslab derives from a sandbox's stable id. Every one carries the mark:
 * chains start with CHAIN_PREFIX, rule comments are `nslab:<id>`, host-side links are
 * named `nsl<id>` and carry the alias `nslab:<id>`.
 */
export const MARK = "nslab";
export const CHAIN_PREFIX = "NSLAB-";
/** Host ends of sandbox veths: `nsl` + id (3 + 10 = 13 characters, under IFNAMSIZ-1 = 15). */
export const HOST_IF_PREFIX = "nsl";
/** iptables interface wildcard matching every sandbox's host end. */
export const HOST_IF_WILDCARD = `${HOST_IF_PREFIX}+`;

const ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";
export const ID_LENGTH = 10;

/** A new sandbox id: 10 characters of [0-9a-z] (about 51 bits), safe in every kernel name. */
export function newSandboxId(): string {
  const bytes = randomBytes(ID_LENGTH);
  let id = "";
  for (const byte of bytes) id += ID_ALPHABET[byte % 36];
  // Start with a letter so no kernel name derived from it looks like a number or option.
  return `s${id.slice(1)}`;
}

/** True when `id` has the shape of a sandbox id. */
export function isSandboxId(id: string): boolean {
  return /^[a-z][0-9a-z]{9}$/.test(id);
}

/** The host end of a sandbox's veth. */
export const hostIfName = (id: string) => `${HOST_IF_PREFIX}${id}`;
/** The alias set on every link nslab creates. */
export const linkAlias = (id: string) => `${MARK}:${id}`;
/** The comment on every rule nslab writes for a sandbox. */
export const ruleComment = (id: string, what?: string) => (what ? `${MARK}:${id}:${what}` : `${MARK}:${id}`);
/** The sandbox's egress chain (traffic leaving it) and ingress chain (traffic going into it). */
export const egressChain = (id: string) => `${CHAIN_PREFIX}E-${id}`;
export const ingressChain = (id: string) => `${CHAIN_PREFIX}I-${id}`;
/**
 * Chunk `k` of a sandbox's egress or ingress chain: 0 is the head chain itself, k > 0
 * `NSLAB-E-<id>-<k>` (at most 8 + 10 + 1 + 2 = 21 characters with MAX_RULES 5,000).
 */
export const chunkChain = (head: string, k: number) => (k === 0 ? head : `${head}-${k}`);

/** A whole mark: `nslab:<id>` with optional `:what` parts (`:policy`, `:rule:<ruleId>`, `:port:<portId>`). */
const WHOLE_MARK = /^nslab:([a-z][0-9a-z]{9})(?::[0-9a-z_.-]+)*$/;
/** A comment match in a rule spec: `--comment "<value>"` (quoted, with escapes) or `--comment <value>`. */
const COMMENT = /(?:^|\s)--comment (?:"((?:[^"\\]|\\.)*)"|(\S+))/g;

/**
 * The sandbox id a mark names, or null when `text` carries none. The one parser of
 * nslab's marks: `text` is either a mark itself (a link alias, a comment value) or a
 * rule (as `iptables-save` prints it, comment quoted or not), whose `--comment` value
 * must then be a whole mark. A comment that merely contains `nslab:<id>` among other
 * words (someone's note), or the text in another option (`--log-prefix`), is not ours.
 */
export function idOfMark(text: string): string | null {
  const whole = WHOLE_MARK.exec(text);
  if (whole) return whole[1]!;
  for (const m of text.matchAll(COMMENT)) {
    const value = (m[1] ?? m[2])!.replace(/\\(.)/g, "$1");
    const mark = WHOLE_MARK.exec(value);
    if (mark) return mark[1]!;
  }
  return null;
}
