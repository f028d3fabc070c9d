"use client";

import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc-provider";
import { roleTone, useSession } from "@/components/session";
import { readError } from "@/components/errors";
import { splitList } from "@/components/format";
import type { Role, UserRow } from "@/components/api-types";
import { ACTIONS_COLUMN, Badge, Button, Card, ConfirmDialog, DataTable, Dialog, ErrorBanner, Field, FormActions, NotAllowed, PageHeader, QueryStatus, inputClass, selectClass, table } from "@/components/ui";

const ROLES: Role[] = ["viewer", "operator", "admin"];
const ROLE_HELP: Record<Role, string> = {
  viewer: "reads everything, changes nothing",
  operator: "creates sandboxes and manages the ones it owns",
  admin: "everything: users, any sandbox, run as root",
};

/** Admins manage console users: create, change role, password and run-as accounts, delete. */
export default function UsersPage() {
  const me = useSession();
  if (me.role !== "admin") {
    return (
      <>
        <PageHeader title="Users" />
        <NotAllowed what="Only admins manage users. Ask an admin if you need a change to your account." />
      </>
    );
  }
  return <UsersAdmin />;
}

function UsersAdmin() {
  const trpc = useTRPC();
  const me = useSession();
  const users = useQuery(trpc.user.list.queryOptions());
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<UserRow | null>(null);
  const [deleting, setDeleting] = useState<UserRow | null>(null);

  return (
    <>
      <PageHeader
        title="Users"
        subtitle="Who may sign in, with which role, and which Linux accounts they may run programs as"
        actions={<Button onClick={() => setCreating(true)}>New user</Button>}
      />
      <Card>
        <QueryStatus query={users} />
        {users.data ? (
          <DataTable label="Users" columns={["User", "Role", "May run programs as", { ...ACTIONS_COLUMN, srOnly: false }]}>
            {users.data.map((u) => (
              <tr key={u.username} className={table.row} data-testid={`user-row-${u.username}`}>
                <td className={`${table.td} font-medium`}>
                  {u.username}
                  {u.username === me.username ? <span className="ml-1.5 text-xs text-slate-500">(you)</span> : null}
                </td>
                <td className={table.td}>
                  <Badge tone={roleTone(u.role)}>{u.role}</Badge>
                </td>
                <td className={`${table.td} font-mono text-xs`}>
                  {u.runAs.length ? u.runAs.join(", ") : <span className="font-sans text-slate-400">none</span>}
                </td>
                <td className={`${table.td} text-right whitespace-nowrap`}>
                  <Button variant="ghost" onClick={() => setEditing(u)} aria-label={`Edit ${u.username}`}>
                    Edit
                  </Button>
                  <Button variant="ghost-danger" onClick={() => setDeleting(u)} aria-label={`Delete ${u.username}`}>
                    Delete
                  </Button>
                </td>
              </tr>
            ))}
          </DataTable>
        ) : null}
      </Card>
      {creating ? <CreateUserDialog onClose={() => setCreating(false)} /> : null}
      {editing ? <EditUserDialog user={editing} onClose={() => setEditing(null)} /> : null}
      {deleting ? <DeleteUserDialog user={deleting} onClose={() => setDeleting(null)} /> : null}
    </>
  );
}

function RoleSelect({ value, onChange, p }: { value: Role; onChange: (r: Role) => void; p: Record<string, unknown> }) {
  return (
    <select {...p} className={selectClass} value={value} onChange={(e) => onChange(e.target.value as Role)}>
      {ROLES.map((r) => (
        <option key={r} value={r}>
          {r} — {ROLE_HELP[r]}
        </option>
      ))}
    </select>
  );
}

const FIELDS = ["username", "password", "role", "runAs"];

function CreateUserDialog({ onClose }: { onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [runAs, setRunAs] = useState("");
  const create = useMutation(
    trpc.user.create.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.user.list.queryKey() });
        onClose();
      },
    }),
  );
  const error = create.error ? readError(create.error) : null;
  return (
    <Dialog open title="New user" onClose={onClose}>
      <form
        className="space-y-3"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate({ username, password, role, runAs: splitList(runAs) });
        }}
      >
        <Field label="User name" name="username" errors={error?.fieldErrors} hint="Lower case letters, digits, _ . -">
          {(p) => <input {...p} className={inputClass} autoComplete="off" autoFocus value={username} onChange={(e) => setUsername(e.target.value)} />}
        </Field>
        <Field label="Password" name="password" errors={error?.fieldErrors} hint="At least 8 characters">
          {(p) => <input {...p} type="password" className={inputClass} autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />}
        </Field>
        <Field label="Role" name="role" errors={error?.fieldErrors}>
          {(p) => <RoleSelect p={p} value={role} onChange={setRole} />}
        </Field>
        <Field label="May run programs as (Linux accounts)" name="runAs" errors={error?.fieldErrors} hint="Separate with commas or spaces, e.g. nobody, labuser">
          {(p) => <input {...p} className={`${inputClass} font-mono`} autoComplete="off" value={runAs} onChange={(e) => setRunAs(e.target.value)} />}
        </Field>
        <ErrorBanner error={error} fields={FIELDS} />
        <FormActions label="Create user" pendingLabel="Creating…" pending={create.isPending} onCancel={onClose} />
      </form>
    </Dialog>
  );
}

function EditUserDialog({ user, onClose }: { user: UserRow; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [role, setRole] = useState<Role>(user.role);
  const [password, setPassword] = useState("");
  const [runAs, setRunAs] = useState(user.runAs.join(", "));
  const update = useMutation(
    trpc.user.update.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.user.list.queryKey() });
        onClose();
      },
    }),
  );
  const error = update.error ? readError(update.error) : null;
  return (
    <Dialog open title={`Edit ${user.username}`} onClose={onClose}>
      <form
        className="space-y-3"
        onSubmit={(e) => {
          e.preventDefault();
          const nextRunAs = splitList(runAs);
          update.mutate({
            username: user.username,
            ...(role !== user.role ? { role } : {}),
            ...(password ? { password } : {}),
            ...(nextRunAs.join(",") !== user.runAs.join(",") ? { runAs: nextRunAs } : {}),
          });
        }}
      >
        <Field label="Role" name="role" errors={error?.fieldErrors}>
          {(p) => <RoleSelect p={p} value={role} onChange={setRole} />}
        </Field>
        <Field label="New password" name="password" errors={error?.fieldErrors} hint="Leave empty to keep the current one">
          {(p) => <input {...p} type="password" className={inputClass} autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />}
        </Field>
        <Field label="May run programs as (Linux accounts)" name="runAs" errors={error?.fieldErrors} hint="Separate with commas or spaces; empty for none">
          {(p) => <input {...p} className={`${inputClass} font-mono`} autoComplete="off" value={runAs} onChange={(e) => setRunAs(e.target.value)} />}
        </Field>
        <ErrorBanner error={error} fields={FIELDS} />
        <FormActions label="Save changes" pendingLabel="Saving…" pending={update.isPending} onCancel={onClose} />
      </form>
    </Dialog>
  );
}

function DeleteUserDialog({ user, onClose }: { user: UserRow; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const remove = useMutation(
    trpc.user.delete.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.user.list.queryKey() });
        onClose();
      },
    }),
  );
  return (
    <ConfirmDialog
      open
      title={`Delete ${user.username}?`}
      confirmLabel="Delete user"
      mutation={remove}
      onConfirm={() => remove.mutate({ username: user.username })}
      onClose={onClose}
    >
      <p>
        <strong>{user.username}</strong> will no longer be able to sign in. Their sessions and API tokens stop working at once. Sandboxes they own stay.
      </p>
    </ConfirmDialog>
  );
}
