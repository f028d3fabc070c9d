"use client";

import { useState } from "react";
import Link from "next/link";
import { useParams, useRouter } from "next/navigation";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc-provider";
import { canManage, useSession } from "@/components/session";
import { readError } from "@/components/errors";
import { Button, Card, ErrorBanner, Muted, PageHeader, StatusBadge, Time } from "@/components/ui";
import { DeleteSandboxDialog } from "@/components/sandbox-dialogs";
import { RulesPanel } from "@/components/rules-panel";
import { PortsPanel } from "@/components/ports-panel";
import { ProgramsPanel } from "@/components/programs-panel";
import { AuditTable } from "@/components/audit-table";

/** One sandbox: interfaces and addresses, policy and rules, ports, programs, audit trail. */
export default function SandboxPage() {
  const params = useParams<{ name: string }>();
  const name = decodeURIComponent(params.name);
  const trpc = useTRPC();
  const me = useSession();
  const router = useRouter();
  const query = useQuery(trpc.sandbox.get.queryOptions({ name }));
  const [deleting, setDeleting] = useState(false);
  const sandbox = query.data;
  const error = query.error ? readError(query.error) : null;

  if (error) {
    return (
      <>
        <PageHeader title={name} />
        {error.appCode === "NOT_FOUND" ? (
          <Card>
            <p className="text-sm text-slate-700">
              There is no sandbox called <span className="font-mono">{name}</span> (it may just have been deleted).{" "}
              <Link className="text-indigo-700 underline" href="/sandboxes">
                All sandboxes
              </Link>
            </p>
          </Card>
        ) : (
          <ErrorBanner error={error} />
        )}
      </>
    );
  }
  if (!sandbox) return <Muted>Loading…</Muted>;
  const editable = canManage(me, sandbox.owner);

  return (
    <>
      <nav aria-label="Breadcrumb" className="mb-1 text-xs text-slate-500">
        <Link href="/sandboxes" className="hover:underline">
          Sandboxes
        </Link>{" "}
        / <span className="font-mono">{sandbox.name}</span>
      </nav>
      <PageHeader
        title={sandbox.name}
        subtitle={sandbox.description || `${sandbox.mode} sandbox owned by ${sandbox.owner}`}
        actions={
          <>
            <StatusBadge status={sandbox.status} detail={sandbox.statusDetail} testId="sandbox-status" />
            {editable ? (
              <Button variant="danger" onClick={() => setDeleting(true)}>
                Delete sandbox
              </Button>
            ) : null}
          </>
        }
      />
      {sandbox.status !== "ok" && sandbox.statusDetail ? (
        <div role="status" className="mb-4 rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">
          {sandbox.statusDetail}
        </div>
      ) : null}
      {!editable ? (
        <p className="mb-3 text-xs text-slate-500" data-testid="read-only-note">
          You can look but not change: only {sandbox.owner} (the owner) or an admin may change this sandbox.
        </p>
      ) : null}
      <div className="grid gap-4 xl:grid-cols-[minmax(0,20rem)_minmax(0,1fr)]">
        <div className="space-y-4">
          <Card title="Network">
            <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1.5 text-sm">
              <dt className="text-slate-500">Mode</dt>
              <dd>{sandbox.mode}</dd>
              <dt className="text-slate-500">Address</dt>
              <dd className="font-mono" data-testid="detail-address">
                {sandbox.address ?? "—"}
              </dd>
              <dt className="text-slate-500">Gateway</dt>
              <dd className="font-mono">{sandbox.hostAddress ?? "—"}</dd>
              <dt className="text-slate-500">Subnet</dt>
              <dd className="font-mono">{sandbox.subnet ?? "—"}</dd>
              <dt className="text-slate-500">NAT</dt>
              <dd>{sandbox.nat ? `yes, out of ${sandbox.egress ?? "the default route"}` : "no"}</dd>
              <dt className="text-slate-500">DNS</dt>
              <dd className="font-mono">{sandbox.dns.length ? sandbox.dns.join(", ") : "—"}</dd>
              <dt className="text-slate-500">Owner</dt>
              <dd>{sandbox.owner}</dd>
              <dt className="text-slate-500">Created</dt>
              <dd className="text-xs">
                <Time at={sandbox.createdAt} />
              </dd>
            </dl>
          </Card>
          <Card title="Interfaces">
            {sandbox.interfaces.length === 0 ? <Muted>Loopback only.</Muted> : null}
            <ul className="space-y-2">
              {sandbox.interfaces.map((i) => (
                <li key={i.name} className="rounded border border-slate-200 p-2 text-sm">
                  <p>
                    <span className="font-mono font-medium">{i.name}</span> <span className="text-slate-500">inside</span>
                    {i.hostName ? (
                      <>
                        {" "}
                        ⇄ <span className="font-mono font-medium">{i.hostName}</span> <span className="text-slate-500">on the host</span>
                      </>
                    ) : null}
                  </p>
                  <p className="font-mono text-xs text-slate-600">{i.addresses.length ? i.addresses.join(", ") : "no addresses"}</p>
                </li>
              ))}
            </ul>
          </Card>
        </div>
        <div className="space-y-4">
          <RulesPanel sandbox={sandbox} editable={editable} />
          <PortsPanel sandbox={sandbox} editable={editable} />
        </div>
      </div>
      <div className="mt-4 space-y-4">
        <ProgramsPanel sandbox={sandbox} editable={editable} />
        <Card title="Audit trail">
          <AuditTable filter={{ sandbox: sandbox.name }} pageSize={20} compact />
        </Card>
      </div>
      {deleting ? <DeleteSandboxDialog name={sandbox.name} onClose={() => setDeleting(false)} onDeleted={() => router.push("/sandboxes")} /> : null}
    </>
  );
}
