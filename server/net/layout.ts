/**
 * nslab's firewall layout (docs/firewall.md) as data: the base chains, the one jump
 * from each built-in chain, and the per-sandbox lines in the shared chains. Every line
 * is written in the canonical form `iptables-save` prints it back, so observed and
 * desired lines compare as text.
 */
import { HOST_IF_WILDCARD, hostIfName, idOfMark, ruleComment } from "./names";
import type { TableName } from "./iptables";

export const CHAINS = {
  FORWARD: "NSLAB-FORWARD",
  INPUT: "NSLAB-INPUT",
  USER: "NSLAB-USER",
  EGRESS: "NSLAB-EGRESS",
  INGRESS: "NSLAB-INGRESS",
  GATEWAY: "NSLAB-GATEWAY",
  POSTROUTING: "NSLAB-POSTROUTING",
  PORTS: "NSLAB-PORTS",
} as const;

/** A rule in a chain (spec as iptables-save prints it, without `-A <chain>`). */
export interface ChainLine {
  chain: string;
  spec: string;
}

/** The one jump from each built-in chain into nslab's chains; each must be the chain's first rule. */
export const JUMPS: Record<TableName, ChainLine[]> = {
  filter: [
    { chain: "FORWARD", spec: `-j ${CHAINS.FORWARD}` },
    { chain: "INPUT", spec: `-j ${CHAINS.INPUT}` },
  ],
  nat: [
    { chain: "PREROUTING", spec: `-m addrtype --dst-type LOCAL -j ${CHAINS.PORTS}` },
    { chain: "OUTPUT", spec: `-m addrtype --dst-type LOCAL -j ${CHAINS.PORTS}` },
    { chain: "POSTROUTING", spec: `-j ${CHAINS.POSTROUTING}` },
  ],
};

const W = HOST_IF_WILDCARD;

/** Chains nslab owns whose whole content is fixed: rewritten when they differ. */
export const STATIC_CHAINS: Record<string, string[]> = {
  [CHAINS.FORWARD]: [
    `-j ${CHAINS.USER}`,
    `-i ${W} -j ${CHAINS.EGRESS}`,
    `-o ${W} -j ${CHAINS.INGRESS}`,
    `-i ${W} -j ACCEPT`,
  ],
  [CHAINS.INPUT]: [
    `-i ${W} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    `-i ${W} -j ${CHAINS.GATEWAY}`,
    `-i ${W} -j DROP`,
  ],
};

/** nslab's chains per table, and the table they live in. */
export const OWN_CHAINS: Record<TableName, string[]> = {
  filter: [CHAINS.FORWARD, CHAINS.INPUT, CHAINS.EGRESS, CHAINS.INGRESS, CHAINS.GATEWAY],
  nat: [CHAINS.POSTROUTING],
};
/** Chains created when missing but whose content nslab's engine never rewrites. */
export const KEPT_CHAINS: Record<TableName, string[]> = {
  filter: [CHAINS.USER],
  nat: [CHAINS.PORTS],
};

/** Chains holding one line per sandbox (rewritten from the store at start). */
export const DISPATCH_CHAINS: Record<TableName, string[]> = {
  filter: [CHAINS.EGRESS, CHAINS.INGRESS, CHAINS.GATEWAY],
  nat: [CHAINS.POSTROUTING],
};

/** What the per-sandbox lines are rendered from. */
export interface SandboxFirewallSpec {
  id: string;
  mode: "nat" | "routed" | "isolated";
  subnet: string | null;
  hostAddress: string | null;
  egress: string | null;
}

const comment = (id: string) => `-m comment --comment ${ruleComment(id)}`;

/** A sandbox's lines in the shared chains (dispatch, gateway ping, masquerade). */
export function sandboxLines(s: SandboxFirewallSpec): Record<TableName, ChainLine[]> {
  if (s.mode === "isolated" || !s.hostAddress) return { filter: [], nat: [] };
  const ifname = hostIfName(s.id);
  const filter: ChainLine[] = [
    { chain: CHAINS.EGRESS, spec: `-i ${ifname} ${comment(s.id)} -j NSLAB-E-${s.id}` },
    { chain: CHAINS.INGRESS, spec: `-o ${ifname} ${comment(s.id)} -j NSLAB-I-${s.id}` },
    {
      chain: CHAINS.GATEWAY,
      spec: `-d ${s.hostAddress}/32 -i ${ifname} -p icmp -m icmp --icmp-type 8 ${comment(s.id)} -j ACCEPT`,
    },
  ];
  const nat: ChainLine[] =
    s.mode === "nat" && s.subnet && s.egress
      ? [{ chain: CHAINS.POSTROUTING, spec: `-s ${s.subnet} -o ${s.egress} ${comment(s.id)} -j MASQUERADE` }]
      : [];
  return { filter, nat };
}

/**
 * True for the per-sandbox chains (`NSLAB-E-<id>`, `NSLAB-I-<id>` and their chunk chains
 * `NSLAB-E-<id>-<k>`, `NSLAB-I-<id>-<k>`); returns the id.
 */
export function idOfSandboxChain(chain: string): string | null {
  const m = /^NSLAB-[EI]-([a-z][0-9a-z]{9})(?:-[1-9][0-9]{0,3})?$/.exec(chain);
  return m ? m[1]! : null;
}

/** The sandbox id in a link alias `nslab:<id>`, or null (names.ts `idOfMark`, the one mark parser). */
export function markIdOfAlias(alias: string | null): string | null {
  return alias ? idOfMark(alias) : null;
}
