"use client";

import { memo, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useRouter } from "next/navigation";
import {
  Background,
  BaseEdge,
  Controls,
  EdgeLabelRenderer,
  Handle,
  MiniMap,
  Position,
  ReactFlow,
  ReactFlowProvider,
  getBezierPath,
  useReactFlow,
  type Edge,
  type EdgeProps,
  type Node,
  type NodeProps,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import type { ElkNode } from "elkjs/lib/elk-api";
import { AdoptButton } from "./adopt";
import { formatPort, formatRate } from "./format";
import type { Sandbox, Topology, TopologyEdge, TopologyNode } from "./api-types";

// ------------------------------------------------------------------ layout (elkjs)

const SIZE: Record<TopologyNode["kind"], { width: number; height: number }> = {
  host: { width: 190, height: 72 },
  uplink: { width: 170, height: 60 },
  sandbox: { width: 176, height: 64 },
  foreign: { width: 176, height: 64 },
};
/** A sandbox node with published ports has one more line for them. */
const PORTS_LINE = 16;

/** The node's box: its kind's size, taller for a sandbox with published ports. */
function sizeOf(n: TopologyNode): { width: number; height: number } {
  const base = SIZE[n.kind] ?? SIZE.sandbox;
  return n.kind === "sandbox" && n.ports?.length ? { width: base.width, height: base.height + PORTS_LINE } : base;
}

/** "tcp 8080→80" for each published port. */
function portLabels(ports: TopologyNode["ports"]): string[] {
  return (ports ?? []).map(formatPort);
}

/** Above this many sandboxes they are packed in a block instead of one column. */
const COLUMN_MAX = 10;

type Positions = Map<string, { x: number; y: number }>;

/** Left-to-right rank of a node: outside world, uplinks, host, sandboxes. */
function rankOf(node: TopologyNode, edges: TopologyEdge[]): number {
  if (node.kind === "uplink") return 1;
  if (node.kind === "host") return 2;
  if (node.kind === "foreign" && edges.some((e) => (e.source === node.id || e.target === node.id) && (e.source.startsWith("uplink:") || e.target.startsWith("uplink:")))) return 0;
  return 3;
}

/**
 * Lays the graph out with ELK's layered algorithm, left to right; many sandboxes go
 * into one block packed by ELK's rectpacking, so 200 of them stay on one screen.
 */
async function layout(topology: Topology): Promise<Positions> {
  const { default: ELK } = await import("elkjs/lib/elk.bundled.js");
  const elk = new ELK();
  const ranks = new Map(topology.nodes.map((n) => [n.id, rankOf(n, topology.edges)]));
  const natural = new Intl.Collator("en", { numeric: true });
  const sandboxes = topology.nodes.filter((n) => ranks.get(n.id) === 3).sort((a, b) => natural.compare(a.label, b.label));
  const ordered = [...topology.nodes.filter((n) => ranks.get(n.id) !== 3), ...sandboxes];
  const packed = sandboxes.length > COLUMN_MAX;
  const packedIds = new Set(packed ? sandboxes.map((n) => n.id) : []);

  const children: ElkNode[] = ordered
    .filter((n) => !packedIds.has(n.id))
    .map((n) => ({ id: n.id, ...sizeOf(n) }));
  if (packed) {
    children.push({
      id: "(sandboxes)",
      layoutOptions: {
        "elk.algorithm": "rectpacking",
        "elk.aspectRatio": "1.8",
        "elk.spacing.nodeNode": "18",
        "elk.padding": "[top=10,left=10,bottom=10,right=10]",
      },
      children: sandboxes.map((n) => ({ id: n.id, ...sizeOf(n) })),
    });
  }
  const seen = new Set<string>();
  const edges: { id: string; sources: string[]; targets: string[] }[] = [];
  for (const e of topology.edges) {
    if (e.kind === "nat") continue; // NAT is drawn on the uplink's edge, not as its own line
    let [a, b] = [e.source, e.target];
    if ((ranks.get(a) ?? 3) > (ranks.get(b) ?? 3)) [a, b] = [b, a];
    if (packedIds.has(a)) a = "(sandboxes)";
    if (packedIds.has(b)) b = "(sandboxes)";
    const key = `${a}->${b}`;
    if (a === b || seen.has(key)) continue;
    seen.add(key);
    edges.push({ id: key, sources: [a], targets: [b] });
  }
  const graph = await elk.layout({
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "RIGHT",
      "elk.spacing.nodeNode": "24",
      "elk.layered.spacing.nodeNodeBetweenLayers": "210",
      "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
      "elk.layered.nodePlacement.bk.fixedAlignment": "BALANCED",
      "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
      "elk.layered.crossingMinimization.forceNodeModelOrder": "true",
    },
    children,
    edges,
  });
  const out: Positions = new Map();
  for (const c of graph.children ?? []) {
    if (c.id === "(sandboxes)") {
      for (const g of c.children ?? []) out.set(g.id, { x: (c.x ?? 0) + (g.x ?? 0), y: (c.y ?? 0) + (g.y ?? 0) });
    } else out.set(c.id, { x: c.x ?? 0, y: c.y ?? 0 });
  }
  return out;
}

// ------------------------------------------------------------------ nodes

interface NodeData extends Record<string, unknown> {
  node: TopologyNode;
  detail?: string;
  dim: boolean;
  hit: boolean;
  natCount?: number;
}

const STATUS_RING: Record<string, string> = {
  ok: "border-emerald-500",
  drift: "border-amber-500",
  error: "border-rose-600",
};
const STATUS_DOT: Record<string, string> = {
  ok: "bg-emerald-500",
  drift: "bg-amber-500",
  error: "bg-rose-600",
  down: "bg-rose-600",
};

function handles() {
  return (
    <>
      <Handle type="target" position={Position.Left} className="!h-1.5 !w-1.5 !border-0 !bg-slate-400" isConnectable={false} />
      <Handle type="source" position={Position.Right} className="!h-1.5 !w-1.5 !border-0 !bg-slate-400" isConnectable={false} />
    </>
  );
}

const SandboxNode = memo(function SandboxNode({ data }: NodeProps<Node<NodeData>>) {
  const { node, detail, dim, hit } = data;
  const reason = detail ?? node.status;
  const ports = portLabels(node.ports);
  return (
    <div
      title={`${node.label}: ${reason}`}
      data-testid={`topo-sandbox-${node.label}`}
      data-status={node.status}
      style={{ height: sizeOf(node).height }}
      className={`w-44 cursor-pointer rounded-lg border-2 bg-white px-2.5 py-1.5 shadow-sm transition-opacity ${STATUS_RING[node.status] ?? "border-slate-300"} ${dim ? "opacity-25" : ""} ${hit ? "ring-4 ring-indigo-300" : ""}`}
    >
      {handles()}
      <div className="flex items-center gap-1.5">
        <span className={`h-2 w-2 shrink-0 rounded-full ${STATUS_DOT[node.status] ?? "bg-slate-400"}`} aria-hidden />
        <span className="truncate font-mono text-sm font-semibold text-slate-900">{node.label}</span>
        <span className="ml-auto text-[10px] uppercase text-slate-500">{node.mode ?? ""}</span>
      </div>
      <p className="truncate font-mono text-[11px] text-slate-600">{node.addresses.join(", ") || "loopback only"}</p>
      <p className="truncate text-[10px] text-slate-500">
        {node.status === "ok" ? `owner ${node.owner ?? ""}` : <span className="font-medium text-amber-700">{node.status}: {reason}</span>}
      </p>
      {ports.length ? (
        <p className="truncate font-mono text-[10px] text-indigo-700" data-testid="topo-ports" title={`published: ${ports.join(", ")}`}>
          <span className="sr-only">published ports </span>
          {ports.join(" · ")}
        </p>
      ) : null}
    </div>
  );
});

const ForeignNode = memo(function ForeignNode({ data }: NodeProps<Node<NodeData>>) {
  const { node, dim, hit } = data;
  return (
    <div
      title={`${node.label}: a namespace nslab does not manage`}
      data-testid={`topo-foreign-${node.label}`}
      className={`h-16 w-44 rounded-lg border-2 border-dashed border-slate-300 bg-slate-100 px-2.5 py-1.5 text-slate-500 ${dim ? "opacity-25" : ""} ${hit ? "ring-4 ring-indigo-300" : ""}`}
    >
      {handles()}
      <div className="flex items-center gap-1.5">
        <span className="truncate font-mono text-sm font-semibold">{node.label}</span>
        <span className="ml-auto">
          <AdoptButton name={node.label} className="nodrag nopan" />
        </span>
      </div>
      <p className="text-[11px] italic">not managed</p>
    </div>
  );
});

const HostNode = memo(function HostNode({ data }: NodeProps<Node<NodeData>>) {
  const { node, dim } = data;
  return (
    <div data-testid="topo-host" className={`h-[72px] w-[190px] rounded-xl border-2 border-slate-700 bg-slate-800 px-3 py-2 text-white shadow ${dim ? "opacity-40" : ""}`}>
      {handles()}
      <p className="text-[10px] uppercase tracking-wide text-slate-400">host</p>
      <p className="truncate font-mono text-sm font-semibold">{node.label}</p>
      <p className="truncate font-mono text-[11px] text-slate-300">{node.addresses.slice(0, 2).join(", ")}</p>
    </div>
  );
});

const UplinkNode = memo(function UplinkNode({ data }: NodeProps<Node<NodeData>>) {
  const { node, dim, hit } = data;
  return (
    <div
      title={`uplink ${node.label}: ${node.status}`}
      data-testid={`topo-uplink-${node.label}`}
      className={`h-[60px] w-[170px] rounded-lg border-2 border-sky-600 bg-sky-50 px-2.5 py-1.5 ${dim ? "opacity-40" : ""} ${hit ? "ring-4 ring-indigo-300" : ""}`}
    >
      {handles()}
      <div className="flex items-center gap-1.5">
        <span className={`h-2 w-2 rounded-full ${STATUS_DOT[node.status] ?? "bg-slate-400"}`} aria-hidden />
        <span className="font-mono text-sm font-semibold text-sky-900">{node.label}</span>
        <span className="ml-auto text-[10px] uppercase text-sky-700">uplink</span>
      </div>
      <p className="truncate font-mono text-[11px] text-sky-800">{node.addresses.join(", ")}</p>
    </div>
  );
});

const nodeTypes = { sandbox: SandboxNode, foreign: ForeignNode, host: HostNode, uplink: UplinkNode };

// ------------------------------------------------------------------ edges

interface EdgeData extends Record<string, unknown> {
  edge: TopologyEdge;
  rx?: number;
  tx?: number;
  showLabel: boolean;
  natCount: number;
  dim: boolean;
  /** Many sandboxes: their links are drawn faint unless involved in a search or hover. */
  faint: boolean;
}

const NetEdge = memo(function NetEdge(props: EdgeProps<Edge<EdgeData>>) {
  const { id, data, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition } = props;
  const [path, labelX, labelY] = getBezierPath({ sourceX, sourceY, sourcePosition, targetX, targetY, targetPosition });
  if (!data) return null;
  const { edge, rx, tx, showLabel, natCount, dim, faint } = data;
  // A link's label sits just before the sandbox it leads to, so labels never pile up at the hub.
  const [lx, ly] = edge.kind === "veth" ? [targetX - 96, targetY] : [labelX, labelY];
  const isUplink = edge.kind === "link" && edge.target.startsWith("uplink:");
  const nat = isUplink && natCount > 0;
  const stroke = nat ? "#4f46e5" : edge.kind === "veth" ? "#64748b" : "#94a3b8";
  const rates = rx !== undefined && tx !== undefined ? (
    <span className="block tabular-nums text-slate-500" data-testid="edge-rate">
      {edge.kind === "veth" ? `↑ ${formatRate(rx)} ↓ ${formatRate(tx)}` : `in ${formatRate(rx)} · out ${formatRate(tx)}`}
    </span>
  ) : null;
  return (
    <>
      <BaseEdge id={id} path={path} style={{ stroke, strokeWidth: nat ? 2.5 : 1.5, opacity: dim ? 0.15 : faint ? 0.35 : 1, strokeDasharray: edge.kind === "link" && !isUplink ? "4 3" : undefined }} />
      {showLabel && !dim ? (
        <EdgeLabelRenderer>
          <div
            className="nodrag nopan pointer-events-none absolute rounded border border-slate-200 bg-white/95 px-1.5 py-0.5 font-mono text-[10px] leading-tight text-slate-700 shadow-sm"
            style={{ transform: `translate(-50%, -50%) translate(${lx}px, ${ly}px)` }}
            data-testid={`edge-label-${edge.id}`}
          >
            {nat ? <span className="mb-0.5 block font-sans font-semibold text-indigo-700">NAT · {natCount} sandbox{natCount === 1 ? "" : "es"}</span> : null}
            {edge.kind === "veth" ? <span className="block">{edge.addresses.join(" ⇄ ")}</span> : edge.interfaces.length ? <span className="block">{edge.interfaces.join(" ⇄ ")}</span> : null}
            {rates}
          </div>
        </EdgeLabelRenderer>
      ) : null}
    </>
  );
});

const edgeTypes = { net: NetEdge };

// ------------------------------------------------------------------ the graph

/** Bytes per second per edge from the change between two samples. */
function useRates(topology: Topology | undefined, sampledAt: number) {
  const last = useRef<{ at: number; bytes: Map<string, { rx: number; tx: number }> } | null>(null);
  const [rates, setRates] = useState<Map<string, { rx: number; tx: number }>>(new Map());
  useEffect(() => {
    if (!topology) return;
    const bytes = new Map(topology.edges.map((e) => [e.id, { rx: e.rxBytes, tx: e.txBytes }]));
    const prev = last.current;
    last.current = { at: sampledAt, bytes };
    if (!prev || sampledAt <= prev.at) return;
    const seconds = (sampledAt - prev.at) / 1000;
    const next = new Map<string, { rx: number; tx: number }>();
    for (const [id, b] of bytes) {
      const p = prev.bytes.get(id);
      if (p) next.set(id, { rx: Math.max(0, b.rx - p.rx) / seconds, tx: Math.max(0, b.tx - p.tx) / seconds });
    }
    setRates(next);
  }, [topology, sampledAt]);
  return rates;
}

function matches(node: TopologyNode, q: string): boolean {
  if (!q) return false;
  return node.label.toLowerCase().includes(q) || node.addresses.some((a) => a.includes(q));
}

function Graph({ topology, sampledAt, sandboxes }: { topology: Topology; sampledAt: number; sandboxes: Sandbox[] }) {
  const router = useRouter();
  const flow = useReactFlow();
  const [positions, setPositions] = useState<Positions | null>(null);
  const [query, setQuery] = useState("");
  const [hovered, setHovered] = useState<string | null>(null);
  const rates = useRates(topology, sampledAt);
  const q = query.trim().toLowerCase();

  // Lay out again only when the set of nodes or links changes, not on every counter poll.
  const structure = useMemo(
    () => [...topology.nodes.map((n) => `${n.id}:${sizeOf(n).height}`).sort(), "|", ...topology.edges.filter((e) => e.kind !== "nat").map((e) => `${e.source}>${e.target}`).sort()].join(","),
    [topology],
  );
  const topologyRef = useRef(topology);
  topologyRef.current = topology;
  const fitted = useRef(false);
  useEffect(() => {
    let cancelled = false;
    void layout(topologyRef.current).then((p) => {
      if (!cancelled) setPositions(p);
    });
    return () => {
      cancelled = true;
    };
  }, [structure]);
  // fitView runs before an async layout lands: fit again once positions exist.
  useEffect(() => {
    if (!positions) return;
    const frame = requestAnimationFrame(() => {
      void flow.fitView({ padding: 0.12, duration: fitted.current ? 300 : 0, maxZoom: 1.4 });
      fitted.current = true;
    });
    return () => cancelAnimationFrame(frame);
  }, [positions, flow]);

  const details = useMemo(() => new Map(sandboxes.map((s) => [s.name, s.statusDetail])), [sandboxes]);
  const sandboxCount = topology.nodes.filter((n) => n.kind === "sandbox").length;
  const natByUplink = useMemo(() => {
    const m = new Map<string, number>();
    for (const e of topology.edges) if (e.kind === "nat") m.set(e.target, (m.get(e.target) ?? 0) + 1);
    return m;
  }, [topology]);
  const hits = useMemo(() => new Set(topology.nodes.filter((n) => matches(n, q)).map((n) => n.id)), [topology, q]);

  const nodes: Node<NodeData>[] = useMemo(() => {
    if (!positions) return [];
    return topology.nodes.map((n) => ({
      id: n.id,
      type: n.kind,
      position: positions.get(n.id) ?? { x: 0, y: 0 },
      width: sizeOf(n).width,
      height: sizeOf(n).height,
      data: { node: n, detail: n.kind === "sandbox" ? details.get(n.label) : undefined, dim: q !== "" && !hits.has(n.id) && n.kind !== "host", hit: hits.has(n.id) },
      draggable: false,
      connectable: false,
      selectable: n.kind === "sandbox",
      ariaLabel:
        n.kind === "sandbox"
          ? `Sandbox ${n.label}, ${n.status}, ${n.addresses.join(" ")}${n.ports?.length ? `, published ${portLabels(n.ports).join(", ")}` : ""}`
          : `${n.kind} ${n.label}`,
    }));
  }, [positions, topology, details, hits, q]);

  const ranks = useMemo(() => new Map(topology.nodes.map((n) => [n.id, rankOf(n, topology.edges)])), [topology]);
  const edges: Edge<EdgeData>[] = useMemo(() => {
    if (!positions) return [];
    const many = sandboxCount > COLUMN_MAX;
    return topology.edges
      .filter((e) => e.kind !== "nat")
      .map((e) => {
        let [source, target] = [e.source, e.target];
        if ((ranks.get(source) ?? 3) > (ranks.get(target) ?? 3)) [source, target] = [target, source];
        const involved = hits.has(e.source) || hits.has(e.target) || hovered === e.source || hovered === e.target;
        const uplinkEdge = e.target.startsWith("uplink:") || e.source.startsWith("uplink:");
        return {
          id: e.id,
          source,
          target,
          type: "net",
          data: {
            edge: e,
            rx: rates.get(e.id)?.rx,
            tx: rates.get(e.id)?.tx,
            natCount: natByUplink.get(e.target.startsWith("uplink:") ? e.target : e.source) ?? 0,
            showLabel: !many || uplinkEdge || involved,
            dim: q !== "" && !involved && e.kind === "veth",
            faint: many && !involved && e.kind === "veth",
          },
        };
      });
  }, [positions, topology, ranks, rates, natByUplink, hits, hovered, q, sandboxCount]);

  const focusFirst = useCallback(() => {
    const first = topology.nodes.find((n) => hits.has(n.id));
    if (first) void flow.fitView({ nodes: [{ id: first.id }], duration: 400, maxZoom: 1.5 });
  }, [topology, hits, flow]);

  return (
    <div
      className="relative h-full w-full"
      onKeyDown={(e) => {
        // Keyboard: Tab to a sandbox node, Enter opens it (as a click does).
        if (e.key !== "Enter") return;
        const id = (e.target as HTMLElement).closest(".react-flow__node")?.getAttribute("data-id");
        if (id?.startsWith("sandbox:")) router.push(`/sandboxes/${id.slice("sandbox:".length)}`);
      }}
    >
      <div className="absolute top-3 left-3 z-10 flex flex-wrap items-center gap-2 rounded-lg border border-slate-200 bg-white/95 p-2 shadow-sm">
        <label className="flex items-center gap-2 text-sm">
          <span className="text-slate-600">Find</span>
          <input
            type="search"
            aria-label="Find a sandbox by name or address"
            placeholder="name or address"
            className="w-48 rounded-md border border-slate-300 px-2 py-1 text-sm focus:border-indigo-500 focus:ring-1 focus:ring-indigo-500 focus:outline-none"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter") focusFirst();
              if (e.key === "Escape") setQuery("");
            }}
          />
        </label>
        {q ? (
          <span className="text-xs text-slate-600" data-testid="find-count" aria-live="polite">
            {hits.size} found{hits.size ? " · Enter to go there" : ""}
          </span>
        ) : null}
        <button
          type="button"
          onClick={() => void flow.fitView({ padding: 0.12, duration: 300, maxZoom: 1.4 })}
          className="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm hover:bg-slate-50"
        >
          Fit
        </button>
      </div>
      <Legend />
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable
        onlyRenderVisibleElements={sandboxCount > 60}
        minZoom={0.05}
        maxZoom={2.5}
        proOptions={{ hideAttribution: true }}
        onNodeClick={(_, node) => {
          const n = (node.data as NodeData).node;
          if (n.kind === "sandbox") router.push(`/sandboxes/${n.label}`);
        }}
        onNodeMouseEnter={(_, node) => setHovered(node.id)}
        onNodeMouseLeave={() => setHovered(null)}
      >
        <Background gap={24} color="#e2e8f0" />
        <Controls showInteractive={false} position="bottom-left" />
        {sandboxCount > 40 ? <MiniMap pannable zoomable position="bottom-right" style={{ width: 160, height: 100 }} nodeColor={(n) => ((n.data as NodeData).node.status === "ok" ? "#10b981" : (n.data as NodeData).node.kind === "foreign" ? "#cbd5e1" : "#f59e0b")} /> : null}
      </ReactFlow>
      {!positions ? <p className="absolute inset-0 flex items-center justify-center text-sm text-slate-500">Laying out…</p> : null}
    </div>
  );
}

function Legend() {
  const item = (dot: string, text: string) => (
    <span className="flex items-center gap-1">
      <span className={`h-2 w-2 rounded-full ${dot}`} aria-hidden />
      {text}
    </span>
  );
  return (
    <div className="absolute top-3 right-3 z-10 hidden flex-wrap items-center gap-3 rounded-lg md:flex border border-slate-200 bg-white/95 px-2.5 py-1.5 text-xs text-slate-600 shadow-sm">
      {item("bg-emerald-500", "ok")}
      {item("bg-amber-500", "drift")}
      {item("bg-rose-600", "error")}
      <span className="flex items-center gap-1">
        <span className="h-2 w-3 rounded-sm border border-dashed border-slate-400 bg-slate-100" aria-hidden />
        not managed
      </span>
      <span className="flex items-center gap-1">
        <span className="h-0.5 w-4 bg-indigo-600" aria-hidden />
        NAT
      </span>
    </div>
  );
}

/** The live topology graph: pan, zoom, fit, find, click a sandbox to open it. */
export function TopologyGraph(props: { topology: Topology; sampledAt: number; sandboxes: Sandbox[] }) {
  return (
    <ReactFlowProvider>
      <Graph {...props} />
    </ReactFlowProvider>
  );
}
