"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc-provider";
import { canOperate, useSession } from "@/components/session";
import type { ReconcileReport } from "@/components/api-types";
import { Badge, Button, CallError, Card, DataTable, Muted, PageHeader, QueryStatus, table } from "@/components/ui";

/** The host: uplinks, ip_forward, firewall backend, warnings, and "reconcile now". */
export default function HostPage() {
  const trpc = useTRPC();
  const me = useSession();
  const queryClient = useQueryClient();
  const info = useQuery({ ...trpc.host.info.queryOptions(), refetchInterval: 10_000 });
  const reconcile = useMutation(trpc.host.reconcile.mutationOptions({ onSuccess: () => queryClient.invalidateQueries() }));
  const data = info.data;
  const report = reconcile.data;

  return (
    <>
      <PageHeader
        title="Host"
        subtitle="The machine the sandboxes live on, and whether it is set up the way nslab needs"
        actions={
          canOperate(me) ? (
            <Button onClick={() => reconcile.mutate({})} disabled={reconcile.isPending}>
              {reconcile.isPending ? "Reconciling…" : "Reconcile now"}
            </Button>
          ) : null
        }
      />
      <QueryStatus query={info} />
      <CallError error={reconcile.error} className="mb-4" />
      {report ? (
        <Card title="Reconcile result" className="mb-4">
          <ReconcileResult report={report} />
        </Card>
      ) : null}
      {data ? (
        <div className="grid gap-4 lg:grid-cols-2">
          <Card title="Forwarding and firewall">
            <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm">
              <dt className="text-slate-500">IPv4 forwarding</dt>
              <dd data-testid="ip-forward">
                {data.ipForward === null ? <Badge>unknown</Badge> : data.ipForward ? <Badge tone="green">on</Badge> : <Badge tone="rose">off</Badge>}
                <span className="ml-2 font-mono text-xs text-slate-500">net.ipv4.ip_forward</span>
              </dd>
              <dt className="text-slate-500">Firewall backend</dt>
              <dd className="font-mono">{data.firewallBackend}</dd>
            </dl>
          </Card>
          <Card title="Warnings">
            {data.warnings.length === 0 ? (
              <p className="text-sm text-emerald-700" data-testid="no-warnings">
                ✓ Nothing on the host stands in the sandboxes&apos; way.
              </p>
            ) : (
              <ul className="space-y-2" data-testid="host-warnings">
                {data.warnings.map((w, k) => (
                  <li key={k} className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">
                    ⚠ {w}
                  </li>
                ))}
              </ul>
            )}
          </Card>
          <Card title="Uplinks" className="lg:col-span-2">
            {data.uplinks.length === 0 ? <Muted>No uplink found.</Muted> : null}
            {data.uplinks.length > 0 ? (
              <DataTable label="Uplinks" columns={["Interface", "Addresses", "State", "Default route"]}>
                {data.uplinks.map((u) => (
                  <tr key={u.name} className={table.row}>
                    <td className={`${table.td} font-mono font-medium`}>{u.name}</td>
                    <td className={`${table.td} font-mono text-xs`}>{u.addresses.join(", ") || "—"}</td>
                    <td className={table.td}>{u.up ? <Badge tone="green">up</Badge> : <Badge tone="rose">down</Badge>}</td>
                    <td className={table.td}>{u.default ? "yes" : ""}</td>
                  </tr>
                ))}
              </DataTable>
            ) : null}
          </Card>
        </div>
      ) : null}
    </>
  );
}

function ReconcileResult({ report }: { report: ReconcileReport }) {
  const nothing = !report.repaired.length && !report.removed.length && !report.drift.length && !report.base.length && !report.finishedDeletes.length;
  if (nothing)
    return (
      <p className="text-sm text-emerald-700" data-testid="reconcile-result">
        ✓ The kernel matches what nslab expects: nothing to repair.
      </p>
    );
  const section = (title: string, items: string[]) =>
    items.length ? (
      <div>
        <h3 className="text-xs font-semibold uppercase tracking-wide text-slate-500">{title}</h3>
        <ul className="mt-1 list-disc pl-5 text-sm">
          {items.map((i, k) => (
            <li key={k}>{i}</li>
          ))}
        </ul>
      </div>
    ) : null;
  return (
    <div className="space-y-3" data-testid="reconcile-result">
      {section("Repaired", report.repaired.map((r) => `${r.sandbox}: ${r.what}`))}
      {section("Host layout repaired", report.base)}
      {section("Removed", report.removed.map((r) => `${r.object}: ${r.what}`))}
      {section("Finished deleting", report.finishedDeletes)}
      {section("Drift still there", report.drift.map((d) => `${d.sandbox}: ${d.problems.join("; ")}`))}
    </div>
  );
}
