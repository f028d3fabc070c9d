"use client";

import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc-provider";
import { canOperate, useSession } from "@/components/session";
import { readError } from "@/components/errors";
import { Button, ErrorBanner, Muted, PageHeader } from "@/components/ui";
import { TopologyGraph } from "@/components/topology";
import { CreateSandboxDialog } from "@/components/sandbox-dialogs";

/** The home page: the live topology of the host (polled for byte rates, refreshed on every change). */
export default function HomePage() {
  const trpc = useTRPC();
  const me = useSession();
  const topology = useQuery({ ...trpc.topology.get.queryOptions(), refetchInterval: 2000, staleTime: 0 });
  const sandboxes = useQuery(trpc.sandbox.list.queryOptions());
  const [creating, setCreating] = useState(false);
  const data = topology.data;
  const count = data?.nodes.filter((n) => n.kind === "sandbox").length ?? 0;
  const foreign = data?.nodes.filter((n) => n.kind === "foreign").length ?? 0;

  return (
    <div className="flex h-[calc(100vh-6rem)] min-h-[28rem] flex-col">
      <PageHeader
        title="Topology"
        subtitle={data ? `${count} sandbox${count === 1 ? "" : "es"}${foreign ? `, ${foreign} not managed` : ""} · live from the kernel` : "The live host: uplinks, sandboxes, links"}
        actions={canOperate(me) ? <Button onClick={() => setCreating(true)}>New sandbox</Button> : null}
      />
      {topology.error ? <ErrorBanner error={readError(topology.error)} /> : null}
      <div className="relative min-h-0 flex-1 overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm" data-testid="topology">
        {data ? (
          <TopologyGraph topology={data} sampledAt={topology.dataUpdatedAt} sandboxes={sandboxes.data?.sandboxes ?? []} />
        ) : topology.isPending ? (
          <div className="p-4">
            <Muted>Reading the host…</Muted>
          </div>
        ) : null}
      </div>
      {creating ? <CreateSandboxDialog onClose={() => setCreating(false)} /> : null}
    </div>
  );
}
