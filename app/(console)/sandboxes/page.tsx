"use client";

import { useMemo, useState } from "react";
import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc-provider";
import { canManage, canOperate, useSession } from "@/components/session";
import { ACTIONS_COLUMN, Badge, Button, Card, DataTable, Muted, PageHeader, QueryStatus, StatusBadge, inputClass, table } from "@/components/ui";
import { BulkCreateDialog, CreateSandboxDialog, DeleteSandboxDialog } from "@/components/sandbox-dialogs";
import { AdoptButton } from "@/components/adopt";

const PAGE = 50;

/** Every sandbox on the host in a table, with create (one or many) and delete. */
export default function SandboxesPage() {
  const trpc = useTRPC();
  const me = useSession();
  // The list carries each sandbox's rule count and running programs (two grouped store
  // queries on the server); every change announced by events.watch refreshes it
  // (components/live-events.tsx).
  const list = useQuery(trpc.sandbox.list.queryOptions());
  const [creating, setCreating] = useState(false);
  const [bulk, setBulk] = useState(false);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [filter, setFilter] = useState("");
  const [page, setPage] = useState(0);

  const data = list.data;
  const rows = useMemo(() => {
    const all = data?.sandboxes ?? [];
    const q = filter.trim().toLowerCase();
    if (!q) return all;
    return all.filter((s) => s.name.includes(q) || s.owner.includes(q) || (s.address ?? "").includes(q) || (s.subnet ?? "").includes(q));
  }, [data, filter]);
  const pages = Math.max(1, Math.ceil(rows.length / PAGE));
  const current = Math.min(page, pages - 1);
  const shown = rows.slice(current * PAGE, current * PAGE + PAGE);

  return (
    <>
      <PageHeader
        title="Sandboxes"
        subtitle="Network namespaces on this host, their addresses and who owns them"
        actions={
          canOperate(me) ? (
            <>
              <Button variant="secondary" onClick={() => setBulk(true)}>
                Create many…
              </Button>
              <Button onClick={() => setCreating(true)}>New sandbox</Button>
            </>
          ) : null
        }
      />
      <Card>
        <div className="mb-3 flex flex-wrap items-center gap-3">
          <label className="flex items-center gap-2 text-sm text-slate-700">
            <span>Filter</span>
            <input
              type="search"
              className={`${inputClass} w-56`}
              placeholder="name, owner or address"
              value={filter}
              onChange={(e) => {
                setFilter(e.target.value);
                setPage(0);
              }}
            />
          </label>
          <span className="text-xs text-slate-500" data-testid="sandbox-count">
            {data ? `${rows.length} of ${data.sandboxes.length} sandboxes` : ""}
          </span>
        </div>
        <QueryStatus query={list} />
        {data && data.sandboxes.length === 0 ? <Muted>No sandboxes yet.{canOperate(me) ? " Create one with “New sandbox”." : ""}</Muted> : null}
        {shown.length > 0 ? (
          <DataTable
            label="Sandboxes"
            columns={["Name", "Mode", "Addresses", "Owner", "Status", { label: "Rules", align: "right" }, { label: "Running programs", align: "right" }, ACTIONS_COLUMN]}
          >
            {shown.map((s) => {
              return (
                <tr key={s.name} className={table.row} data-testid={`sandbox-row-${s.name}`}>
                  <td className={`${table.td} font-mono font-medium`}>
                    <Link href={`/sandboxes/${s.name}`} className="text-indigo-700 hover:underline">
                      {s.name}
                    </Link>
                    {s.description ? <p className="font-sans text-xs font-normal text-slate-500">{s.description}</p> : null}
                  </td>
                  <td className={table.td}>
                    <Badge tone={s.mode === "nat" ? "indigo" : s.mode === "routed" ? "green" : "slate"}>{s.mode}</Badge>
                  </td>
                  <td className={`${table.td} font-mono text-xs`} data-testid="sandbox-address">
                    {s.address ? (
                      <>
                        <span>{s.address}</span>
                        <span className="block text-slate-500">
                          gw {s.hostAddress} · {s.subnet}
                        </span>
                      </>
                    ) : (
                      <span className="font-sans text-slate-400">loopback only</span>
                    )}
                  </td>
                  <td className={table.td}>{s.owner}</td>
                  <td className={table.td}>
                    <StatusBadge status={s.status} detail={s.statusDetail} />
                    {s.statusDetail && s.status !== "ok" ? <p className="mt-0.5 max-w-[16rem] text-xs text-slate-500">{s.statusDetail}</p> : null}
                  </td>
                  <td className={`${table.td} text-right tabular-nums`} data-testid="sandbox-rules">
                    {s.ruleCount}
                  </td>
                  <td className={`${table.td} text-right tabular-nums`} data-testid="sandbox-running">
                    {s.runningPrograms}
                  </td>
                  <td className={`${table.td} text-right`}>
                    {canManage(me, s.owner) ? (
                      <Button variant="ghost-danger" aria-label={`Delete ${s.name}`} onClick={() => setDeleting(s.name)}>
                        Delete
                      </Button>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </DataTable>
        ) : null}
        {pages > 1 ? (
          <nav aria-label="Sandbox pages" className="mt-3 flex items-center gap-2">
            <Button variant="secondary" disabled={current === 0} onClick={() => setPage(current - 1)}>
              ← Previous
            </Button>
            <span className="text-xs text-slate-500">
              Page {current + 1} of {pages}
            </span>
            <Button variant="secondary" disabled={current >= pages - 1} onClick={() => setPage(current + 1)}>
              Next →
            </Button>
          </nav>
        ) : null}
      </Card>
      {data && data.foreign.length > 0 ? (
        <Card title="Not managed by nslab" className="mt-4">
          <p className="mb-2 text-sm text-slate-600">Network namespaces on this host that nslab did not create. It leaves them alone unless one is adopted.</p>
          <ul className="flex flex-wrap gap-2">
            {data.foreign.map((f) => (
              <li key={f.name} className="flex items-center gap-2 rounded border border-dashed border-slate-300 bg-slate-50 px-2 py-1 text-sm" data-testid={`foreign-${f.name}`}>
                <span className="font-mono text-slate-600">{f.name}</span>
                <AdoptButton name={f.name} />
              </li>
            ))}
          </ul>
        </Card>
      ) : null}
      {creating ? <CreateSandboxDialog onClose={() => setCreating(false)} /> : null}
      {bulk ? <BulkCreateDialog onClose={() => setBulk(false)} /> : null}
      {deleting ? <DeleteSandboxDialog name={deleting} onClose={() => setDeleting(null)} /> : null}
    </>
  );
}
