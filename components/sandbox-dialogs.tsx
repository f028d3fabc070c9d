"use client";

import { useEffect, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "./trpc-provider";
import { readError, type ShownError } from "./errors";
import { expandPattern, splitList } from "./format";
import type { Mode } from "./api-types";
import { ConfirmDialog, Dialog, ErrorBanner, Field, FormActions, inputClass, selectClass } from "./ui";

const MODE_HELP: Record<Mode, string> = {
  nat: "routed, and masqueraded out of the uplink",
  routed: "routed, no NAT: others see the sandbox's own address",
  isolated: "no link to the host: loopback only",
};

const CREATE_FIELDS = ["name", "mode", "subnet", "egress", "dns", "description"];

/** The host's uplinks for the egress picker (empty when host.info is not there). */
function useUplinks(): string[] {
  const trpc = useTRPC();
  const host = useQuery({ ...trpc.host.info.queryOptions(), staleTime: 30_000 });
  return (host.data?.uplinks ?? []).map((u) => u.name);
}

/** Fields shared by single and bulk create: mode, egress, DNS. */
function CommonFields({
  error,
  mode,
  setMode,
  egress,
  setEgress,
  dns,
  setDns,
  prefix = "",
}: {
  error: ShownError | null;
  mode: Mode;
  setMode: (m: Mode) => void;
  egress: string;
  setEgress: (e: string) => void;
  dns: string;
  setDns: (d: string) => void;
  prefix?: string;
}) {
  const uplinks = useUplinks();
  const errors = error?.fieldErrors;
  return (
    <>
      <Field label="Mode" name={`${prefix}mode`} errors={errors} hint={MODE_HELP[mode]}>
        {(p) => (
          <select {...p} className={selectClass} value={mode} onChange={(e) => setMode(e.target.value as Mode)}>
            <option value="nat">nat</option>
            <option value="routed">routed</option>
            <option value="isolated">isolated</option>
          </select>
        )}
      </Field>
      {mode !== "isolated" ? (
        <Field label="Egress interface" name={`${prefix}egress`} errors={errors} hint="The host interface traffic leaves by; default: the default route's">
          {(p) => (
            <select {...p} className={selectClass} value={egress} onChange={(e) => setEgress(e.target.value)}>
              <option value="">default route&apos;s interface</option>
              {uplinks.map((u) => (
                <option key={u} value={u}>
                  {u}
                </option>
              ))}
            </select>
          )}
        </Field>
      ) : null}
      <Field label="DNS servers" name={`${prefix}dns`} errors={errors} hint="Optional, up to 3, e.g. 203.0.113.53">
        {(p) => <input {...p} className={`${inputClass} font-mono`} autoComplete="off" value={dns} onChange={(e) => setDns(e.target.value)} />}
      </Field>
    </>
  );
}

/** The create dialog: name, mode, optional subnet, egress from host.info, DNS. */
export function CreateSandboxDialog({ onClose, onCreated }: { onClose: () => void; onCreated?: (name: string) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [mode, setMode] = useState<Mode>("nat");
  const [subnet, setSubnet] = useState("");
  const [egress, setEgress] = useState("");
  const [dns, setDns] = useState("");
  const [description, setDescription] = useState("");
  const create = useMutation(
    trpc.sandbox.create.mutationOptions({
      onSuccess: async (_out, input) => {
        await queryClient.invalidateQueries();
        onCreated?.(input.name);
        onClose();
      },
    }),
  );
  const error = create.error ? readError(create.error) : null;
  // A taken name or an overlapping subnet belongs next to its field, not only in a banner.
  const fieldErrors = { ...(error?.fieldErrors ?? {}) };
  if (error && !Object.keys(fieldErrors).length) {
    if (error.appCode === "NAME_TAKEN" || error.appCode === "NAME_INVALID") fieldErrors.name = [error.message];
    if (error.appCode === "ADDRESS_CONFLICT" && subnet) fieldErrors.subnet = [error.message];
  }
  const shownError = error ? { ...error, fieldErrors } : null;

  return (
    <Dialog open title="New sandbox" onClose={onClose}>
      <form
        className="space-y-3"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate({
            name,
            mode,
            ...(subnet.trim() && mode !== "isolated" ? { subnet: subnet.trim() } : {}),
            ...(egress && mode !== "isolated" ? { egress } : {}),
            ...(dns.trim() ? { dns: splitList(dns) } : {}),
            ...(description.trim() ? { description: description.trim() } : {}),
          });
        }}
      >
        <Field label="Name" name="name" errors={fieldErrors} hint="a-z, 0-9 and -, starting with a letter (at most 31)">
          {(p) => <input {...p} className={`${inputClass} font-mono`} autoComplete="off" autoFocus value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <CommonFields error={shownError} mode={mode} setMode={setMode} egress={egress} setEgress={setEgress} dns={dns} setDns={setDns} />
        {mode !== "isolated" ? (
          <Field label="Subnet" name="subnet" errors={fieldErrors} hint="Optional CIDR, e.g. 10.200.50.0/30; default: the next free block of the pool">
            {(p) => <input {...p} className={`${inputClass} font-mono`} autoComplete="off" placeholder="automatic" value={subnet} onChange={(e) => setSubnet(e.target.value)} />}
          </Field>
        ) : null}
        <Field label="Description" name="description" errors={fieldErrors}>
          {(p) => <input {...p} className={inputClass} autoComplete="off" placeholder="optional" value={description} onChange={(e) => setDescription(e.target.value)} />}
        </Field>
        <ErrorBanner error={shownError} fields={CREATE_FIELDS} />
        <FormActions label="Create sandbox" pendingLabel="Creating…" pending={create.isPending} onCancel={onClose} />
      </form>
    </Dialog>
  );
}

/** Bulk create from a pattern ("lab-1..20") in one `sandbox.createMany`: all or nothing. */
export function BulkCreateDialog({ onClose }: { onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [pattern, setPattern] = useState("");
  const [mode, setMode] = useState<Mode>("nat");
  const [egress, setEgress] = useState("");
  const [dns, setDns] = useState("");
  const [elapsed, setElapsed] = useState(0);
  const names = expandPattern(pattern);
  const createMany = useMutation(
    trpc.sandbox.createMany.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries();
        onClose();
      },
    }),
  );
  useEffect(() => {
    if (!createMany.isPending) return;
    setElapsed(0);
    const timer = setInterval(() => setElapsed((s) => s + 1), 1000);
    return () => clearInterval(timer);
  }, [createMany.isPending]);
  const error = createMany.error ? readError(createMany.error) : null;
  // Errors of item k ("sandboxes.3.name") are shown against the pattern with the name.
  const patternErrors: string[] = [];
  for (const [key, messages] of Object.entries(error?.fieldErrors ?? {})) {
    const m = /^sandboxes\.(\d+)\.?(.*)$/.exec(key);
    if (m) patternErrors.push(...messages.map((msg) => `${names?.[Number(m[1])] ?? `#${m[1]}`}${m[2] ? ` (${m[2]})` : ""}: ${msg}`));
  }
  const errors = { pattern: names === null && pattern ? ["write a name or a range like lab-1..20"] : patternErrors };

  return (
    <Dialog open title="Create many sandboxes" onClose={createMany.isPending ? () => undefined : onClose}>
      <form
        className="space-y-3"
        onSubmit={(e) => {
          e.preventDefault();
          if (!names || !names.length) return;
          createMany.mutate({
            sandboxes: names.map((name) => ({
              name,
              mode,
              ...(egress && mode !== "isolated" ? { egress } : {}),
              ...(dns.trim() ? { dns: splitList(dns) } : {}),
            })),
          });
        }}
      >
        <Field label="Names" name="pattern" errors={errors} hint={names && names.length > 1 ? `${names.length} sandboxes: ${names[0]} … ${names[names.length - 1]}` : "A range like lab-1..20 (zero padding kept: web-01..12)"}>
          {(p) => <input {...p} className={`${inputClass} font-mono`} autoComplete="off" autoFocus placeholder="lab-1..20" value={pattern} onChange={(e) => setPattern(e.target.value)} />}
        </Field>
        <CommonFields error={error} mode={mode} setMode={setMode} egress={egress} setEgress={setEgress} dns={dns} setDns={setDns} prefix="sandboxes.0." />
        {createMany.isPending ? (
          <div role="status" aria-live="polite" className="space-y-1.5" data-testid="bulk-progress">
            <div className="h-2 w-full overflow-hidden rounded bg-slate-100">
              <div className="h-full w-1/3 animate-[nslab-indeterminate_1.2s_ease-in-out_infinite] rounded bg-indigo-500" />
            </div>
            <p className="text-xs text-slate-600">
              Creating {names?.length} sandboxes in one change… {elapsed} s
            </p>
          </div>
        ) : null}
        {error && !patternErrors.length ? <ErrorBanner error={error} /> : null}
        <p className="text-xs text-slate-500">All are created in one change: if one fails, none is kept.</p>
        <FormActions
          label={`Create ${names?.length ?? 0} sandboxes`}
          pendingLabel="Creating…"
          pending={createMany.isPending}
          disabled={!names?.length}
          onCancel={onClose}
          cancelDisabled={createMany.isPending}
        />
      </form>
    </Dialog>
  );
}

/** Asks, then deletes one sandbox (its links, rules, ports and programs go with it). */
export function DeleteSandboxDialog({ name, onClose, onDeleted }: { name: string; onClose: () => void; onDeleted?: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const remove = useMutation(
    trpc.sandbox.delete.mutationOptions({
      onSuccess: async () => {
        onDeleted?.();
        onClose();
        await queryClient.invalidateQueries();
      },
    }),
  );
  return (
    <ConfirmDialog
      open
      title={`Delete ${name}?`}
      confirmLabel="Delete sandbox"
      mutation={remove}
      onConfirm={() => remove.mutate({ name })}
      onClose={onClose}
    >
      <p>
        The namespace <strong className="font-mono">{name}</strong>, its links, filter rules and published ports are removed, and its programs are
        stopped.
      </p>
    </ConfirmDialog>
  );
}
