"use client";

import { useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useTRPC } from "./trpc-provider";
import type { AuditFilter } from "./api-types";
import { Badge, Button, DataTable, Muted, QueryStatus, Time, table } from "./ui";

export type { AuditFilter };

/**
 * Audit rows for a filter, newest first, paged with the `before` cursor: "Older" moves
 * past the last row shown, "Newer" goes back a page, "Newest" returns to the top.
 */
export function AuditTable({ filter, pageSize = 50, compact = false }: { filter: AuditFilter; pageSize?: number; compact?: boolean }) {
  const trpc = useTRPC();
  // Cursors of the pages before this one; the last is this page's own cursor.
  const [cursors, setCursors] = useState<(number | undefined)[]>([undefined]);
  const [filterKey, setFilterKey] = useState(JSON.stringify(filter));
  if (JSON.stringify(filter) !== filterKey) {
    setFilterKey(JSON.stringify(filter));
    setCursors([undefined]);
  }
  const before = cursors[cursors.length - 1];
  const clean = Object.fromEntries(Object.entries(filter).filter(([, v]) => v)) as AuditFilter;
  const rows = useQuery({
    ...trpc.audit.list.queryOptions({ ...clean, limit: pageSize + 1, ...(before ? { before } : {}) }),
    placeholderData: keepPreviousData,
  });
  const data = rows.data ?? [];
  const shown = data.slice(0, pageSize);
  const hasOlder = data.length > pageSize;
  const page = cursors.length;

  return (
    <div className="space-y-3">
      <QueryStatus query={rows} />
      {rows.data && shown.length === 0 ? <Muted>No audit entries{Object.keys(clean).length ? " match this filter" : ""}.</Muted> : null}
      {shown.length > 0 ? (
        <DataTable label="Audit log" columns={["When", "User", "Action", "Target", "Result", !compact && "Input"]}>
          {shown.map((row) => (
            <tr key={row.id} className={table.row} data-testid="audit-row" data-result={row.result} data-action={row.action}>
              <td className={`${table.td} text-xs text-slate-600`}>
                <Time at={row.at} />
              </td>
              <td className={table.td}>{row.user}</td>
              <td className={`${table.td} font-mono text-xs`}>{row.action}</td>
              <td className={`${table.td} break-all font-mono text-xs`}>{row.target ?? ""}</td>
              <td className={table.td}>
                {row.result === "ok" ? <Badge tone="green">ok</Badge> : <Badge tone="rose">error</Badge>}
                {row.error ? <p className="mt-0.5 max-w-xs text-xs break-words text-rose-700">{row.error}</p> : null}
              </td>
              {compact ? null : (
                <td className={`${table.td} max-w-sm`}>
                  {row.input !== null && row.input !== undefined ? (
                    <details>
                      <summary className="cursor-pointer text-xs text-slate-500">show</summary>
                      <pre className="mt-1 max-h-48 overflow-auto rounded bg-slate-50 p-1.5 font-mono text-xs">{JSON.stringify(row.input, null, 2)}</pre>
                    </details>
                  ) : null}
                </td>
              )}
            </tr>
          ))}
        </DataTable>
      ) : null}
      <nav aria-label="Audit pages" className="flex flex-wrap items-center gap-2">
        <Button variant="secondary" disabled={page === 1} onClick={() => setCursors([undefined])}>
          Newest
        </Button>
        <Button variant="secondary" disabled={page === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
          ← Newer
        </Button>
        <Button variant="secondary" disabled={!hasOlder} onClick={() => setCursors((c) => [...c, shown[shown.length - 1]!.id])}>
          Older →
        </Button>
        <span className="text-xs text-slate-500" data-testid="audit-page">
          Page {page}
          {rows.isFetching ? " · refreshing…" : ""}
        </span>
      </nav>
    </div>
  );
}
