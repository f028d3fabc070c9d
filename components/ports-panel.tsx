"use client";

import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "./trpc-provider";
import { readError } from "./errors";
import type { Sandbox } from "./api-types";
import { ACTIONS_COLUMN, Button, CallError, Card, DataTable, ErrorBanner, Field, Muted, inputClass, selectClass, table } from "./ui";

/** Host ports forwarded into the sandbox (DNAT): list, publish, remove. */
export function PortsPanel({ sandbox, editable }: { sandbox: Sandbox; editable: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const ports = useQuery(trpc.port.list.queryOptions({ sandbox: sandbox.name }));
  const [protocol, setProtocol] = useState<"tcp" | "udp">("tcp");
  const [hostPort, setHostPort] = useState("");
  const [sandboxPort, setSandboxPort] = useState("");
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.port.list.queryKey({ sandbox: sandbox.name }) });
  const add = useMutation(
    trpc.port.add.mutationOptions({
      onSuccess: async () => {
        setHostPort("");
        setSandboxPort("");
        await refresh();
      },
    }),
  );
  const remove = useMutation(trpc.port.delete.mutationOptions({ onSuccess: refresh }));
  const error = add.error ? readError(add.error) : null;
  const list = ports.data ?? [];
  const toNumber = (s: string) => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : (s as unknown as number));

  return (
    <Card title="Published ports">
      <CallError error={ports.error} />
      {ports.data && list.length === 0 ? <Muted>No published ports.</Muted> : null}
      {list.length > 0 ? (
        <DataTable label="Published ports" columns={["Protocol", "Host port", "→ Sandbox", editable && ACTIONS_COLUMN]}>
          {list.map((p) => (
            <tr key={p.id} className={table.row} data-testid={`port-row-${p.hostPort}`}>
              <td className={table.td}>{p.protocol}</td>
              <td className={`${table.td} font-mono`}>{p.hostPort}</td>
              <td className={`${table.td} font-mono`}>
                {sandbox.address ?? sandbox.name}:{p.sandboxPort}
              </td>
              {editable ? (
                <td className={`${table.td} text-right`}>
                  <Button
                    variant="ghost-danger"
                    aria-label={`Unpublish ${p.protocol} port ${p.hostPort}`}
                    disabled={remove.isPending}
                    onClick={() => remove.mutate({ sandbox: sandbox.name, id: p.id })}
                  >
                    Remove
                  </Button>
                </td>
              ) : null}
            </tr>
          ))}
        </DataTable>
      ) : null}
      <CallError error={remove.error} />
      {editable ? (
        <form
          aria-label="Publish a port"
          className="mt-4 grid items-start gap-3 border-t border-slate-100 pt-4 sm:grid-cols-[7rem_1fr_1fr_auto]"
          onSubmit={(e) => {
            e.preventDefault();
            add.mutate({ sandbox: sandbox.name, protocol, hostPort: toNumber(hostPort), sandboxPort: toNumber(sandboxPort) });
          }}
        >
          <Field label="Protocol" name="protocol" errors={error?.fieldErrors}>
            {(p) => (
              <select {...p} className={selectClass} value={protocol} onChange={(e) => setProtocol(e.target.value as "tcp" | "udp")}>
                <option value="tcp">tcp</option>
                <option value="udp">udp</option>
              </select>
            )}
          </Field>
          <Field label="Host port" name="hostPort" errors={error?.fieldErrors}>
            {(p) => <input {...p} inputMode="numeric" className={`${inputClass} font-mono`} placeholder="8080" value={hostPort} onChange={(e) => setHostPort(e.target.value)} />}
          </Field>
          <Field label="Sandbox port" name="sandboxPort" errors={error?.fieldErrors}>
            {(p) => <input {...p} inputMode="numeric" className={`${inputClass} font-mono`} placeholder="8000" value={sandboxPort} onChange={(e) => setSandboxPort(e.target.value)} />}
          </Field>
          <div className="sm:pt-6">
            <Button type="submit" disabled={add.isPending}>
              {add.isPending ? "Publishing…" : "Publish"}
            </Button>
          </div>
          <ErrorBanner error={error} fields={["protocol", "hostPort", "sandboxPort"]} className="sm:col-span-4" />
        </form>
      ) : null}
    </Card>
  );
}
