"use client";

import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc-provider";
import { useSession } from "@/components/session";
import { readError, type ShownError } from "@/components/errors";
import {
  Badge,
  Button,
  Card,
  ConfirmDialog,
  Dialog,
  ErrorBanner,
  Field,
  Muted,
  NotAllowed,
  PageHeader,
  inputClass,
  onlyFieldErrors,
  selectClass,
  table,
} from "@/components/ui";

type Role = "admin" | "operator" | "viewer";
const ROLES: Role[] = ["viewer", "operator", "admin"];
const ROLE_HELP: Record<Role, string> = {
  viewer: "reads everything, changes nothing",
  operator: "creates sandboxes and manages the ones it owns",
  admin: "everything: users, any sandbox, run as root",
};
const roleTone = (role: Role) => (role === "admin" ? "indigo" : role === "operator" ? "green" : "slate");

/** "nobody, www-data" or "nobody www-data" → ["nobody", "www-data"]. */
function parseRunAs(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

interface UserRow {
  username: string;
  role: Role;
  runAs: string[];
}

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
        {users.error ? <ErrorBanner error={readError(users.error)} /> : null}
        {users.isPending ? <Muted>Loading…</Muted> : null}
        {users.data ? (
          <div className={table.wrap}>
            <table className={table.table} aria-label="Users">
              <thead>
                <tr>
                  <th className={table.th}>User</th>
                  <th className={table.th}>Role</th>
                  <th className={table.th}>May run programs as</th>
                  <th className={`${table.th} text-right`}>Actions</th>
                </tr>
              </thead>
              <tbody>
                {(users.data as UserRow[]).map((u) => (
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
                      <Button variant="ghost" className="text-rose-700 hover:bg-rose-50 hover:text-rose-800" onClick={() => setDeleting(u)} aria-label={`Delete ${u.username}`}>
                        Delete
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
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

function FormError({ error }: { error: ShownError | null }) {
  if (!error || onlyFieldErrors(error, FIELDS)) return null;
  return <ErrorBanner error={error} />;
}

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
          create.mutate({ username, password, role, runAs: parseRunAs(runAs) });
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
        <FormError error={error} />
        <div className="flex justify-end gap-2 pt-1">
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" disabled={create.isPending}>
            {create.isPending ? "Creating…" : "Create user"}
          </Button>
        </div>
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
          const nextRunAs = parseRunAs(runAs);
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
        <FormError error={error} />
        <div className="flex justify-end gap-2 pt-1">
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" disabled={update.isPending}>
            {update.isPending ? "Saving…" : "Save changes"}
          </Button>
        </div>
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
      pending={remove.isPending}
      error={remove.error ? readError(remove.error) : null}
      onConfirm={() => remove.mutate({ username: user.username })}
      onClose={onClose}
    >
      <p>
        <strong>{user.username}</strong> will no longer be able to sign in. Their sessions and API tokens stop working at once. Sandboxes they own stay.
      </p>
    </ConfirmDialog>
  );
}
