"use client";

import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc-provider";
import { readError } from "@/components/errors";
import type { TokenRow } from "@/components/api-types";
import { ACTIONS_COLUMN, Button, Card, ConfirmDialog, DataTable, ErrorBanner, Field, Muted, PageHeader, QueryStatus, Time, inputClass, table } from "@/components/ui";

/** Copies text to the clipboard, falling back to a selected text area where the API is missing. */
async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}

/** The caller's API tokens: create (the secret is shown once), list, revoke. */
export default function TokensPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const tokens = useQuery(trpc.token.list.queryOptions());
  const [name, setName] = useState("");
  const [secret, setSecret] = useState<{ name: string; token: string } | null>(null);
  const [copied, setCopied] = useState(false);
  const [revoking, setRevoking] = useState<TokenRow | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.token.list.queryKey() });

  const create = useMutation(
    trpc.token.create.mutationOptions({
      onSuccess: async (out, input) => {
        setSecret({ name: input.name, token: out.token });
        setCopied(false);
        setName("");
        await refresh();
      },
    }),
  );
  const revoke = useMutation(
    trpc.token.revoke.mutationOptions({
      onSuccess: async () => {
        setRevoking(null);
        await refresh();
      },
    }),
  );
  const createError = create.error ? readError(create.error) : null;

  return (
    <>
      <PageHeader title="API tokens" subtitle="For scripts and the command line: send as Authorization: Bearer <token>" />
      <div className="grid gap-4 lg:grid-cols-[minmax(0,22rem)_minmax(0,1fr)]">
        <Card title="New token">
          <form
            className="space-y-3"
            onSubmit={(e) => {
              e.preventDefault();
              create.mutate({ name });
            }}
          >
            <Field label="Token name" name="name" errors={createError?.fieldErrors} hint="What it is for, e.g. ci-runner">
              {(p) => <input {...p} className={inputClass} autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} />}
            </Field>
            <ErrorBanner error={createError} fields={["name"]} />
            <Button type="submit" disabled={create.isPending}>
              {create.isPending ? "Creating…" : "Create token"}
            </Button>
          </form>
          {secret ? (
            <div className="mt-4 space-y-2 rounded-md border border-emerald-200 bg-emerald-50 p-3" data-testid="new-token">
              <p className="text-sm font-medium text-emerald-900">
                Token “{secret.name}” created. Copy it now: it is shown only once.
              </p>
              <label className="sr-only" htmlFor="new-token-secret">
                Token secret
              </label>
              <input
                id="new-token-secret"
                readOnly
                value={secret.token}
                onFocus={(e) => e.currentTarget.select()}
                className={`${inputClass} font-mono text-xs`}
              />
              <div className="flex gap-2">
                <Button
                  variant="secondary"
                  onClick={async () => {
                    setCopied(await copyText(secret.token));
                  }}
                >
                  {copied ? "Copied ✓" : "Copy"}
                </Button>
                <Button variant="ghost" onClick={() => setSecret(null)}>
                  Done
                </Button>
              </div>
            </div>
          ) : null}
        </Card>
        <Card title="Your tokens">
          <QueryStatus query={tokens} />
          {tokens.data && tokens.data.length === 0 ? <Muted>No tokens yet.</Muted> : null}
          {tokens.data && tokens.data.length > 0 ? (
            <DataTable label="API tokens" columns={["Name", "Created", "Last used", { ...ACTIONS_COLUMN, srOnly: false }]}>
              {tokens.data.map((t) => (
                <tr key={t.id} className={table.row} data-testid={`token-row-${t.name}`}>
                  <td className={`${table.td} font-medium`}>{t.name}</td>
                  <td className={table.td}>
                    <Time at={t.createdAt} />
                  </td>
                  <td className={table.td}>
                    <Time at={t.lastUsedAt} />
                  </td>
                  <td className={`${table.td} text-right`}>
                    <Button variant="ghost-danger" onClick={() => setRevoking(t)} aria-label={`Revoke ${t.name}`}>
                      Revoke
                    </Button>
                  </td>
                </tr>
              ))}
            </DataTable>
          ) : null}
        </Card>
      </div>
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke “${revoking?.name ?? ""}”?`}
        confirmLabel="Revoke token"
        mutation={revoke}
        onConfirm={() => revoking && revoke.mutate({ id: revoking.id })}
        onClose={() => setRevoking(null)}
      >
        <p>Scripts using this token stop working at once. This cannot be undone.</p>
      </ConfirmDialog>
    </>
  );
}
