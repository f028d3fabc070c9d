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
 * The id in a mark (`nslab:<id>`, `nslab:<id>:what` or `nslab:<id>:what:<subId>`, like
 * `nslab:<id>:port:<portId>`), or null when it is not ours.
 */
export function idOfMark(text: string): string | null {
  const m = /(?:^|\s|")nslab:([a-z][0-9a-z]{9})(?::[\w.-]+)*(?:"|\s|$)/.exec(text);
  return m ? m[1]! : null;
}
