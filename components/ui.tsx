"use client";

import { useEffect, useId, useRef } from "react";
import type { ShownError } from "./errors";
import { readError, wordsFor } from "./errors";
import { statusTone } from "./format";

type ButtonProps = React.ButtonHTMLAttributes<HTMLButtonElement> & { variant?: keyof typeof VARIANTS };

const VARIANTS = {
  primary: "bg-indigo-600 text-white hover:bg-indigo-500 disabled:bg-indigo-300",
  secondary: "border border-slate-300 bg-white text-slate-800 hover:bg-slate-50 disabled:text-slate-400",
  danger: "bg-rose-600 text-white hover:bg-rose-500 disabled:bg-rose-300",
  ghost: "text-slate-600 hover:bg-slate-100 hover:text-slate-900",
  /** A quiet destructive action in a table row (Delete, Revoke, Stop). */
  "ghost-danger": "text-rose-700 hover:bg-rose-50 hover:text-rose-800",
};

/** A button in one of the console's styles. */
export function Button({ variant = "primary", className = "", ...props }: ButtonProps) {
  return (
    <button
      type="button"
      {...props}
      className={`inline-flex items-center justify-center gap-1.5 rounded-md px-3 py-1.5 text-sm font-medium shadow-sm transition focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-1 disabled:cursor-not-allowed ${VARIANTS[variant]} ${className}`}
    />
  );
}

/** A labelled form field with its inline errors; `name` keys into the error's fieldErrors. */
export function Field({
  label,
  name,
  errors,
  hint,
  children,
}: {
  label: string;
  name: string;
  errors?: Record<string, string[]>;
  hint?: string;
  children: (props: { id: string; name: string; "aria-invalid": boolean; "aria-describedby"?: string }) => React.ReactNode;
}) {
  const id = useId();
  const messages = fieldMessages(errors, name);
  const describedBy = messages.length ? `${id}-error` : hint ? `${id}-hint` : undefined;
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="text-sm font-medium text-slate-700">
        {label}
      </label>
      {children({ id, name, "aria-invalid": messages.length > 0, "aria-describedby": describedBy })}
      {messages.length > 0 ? (
        <p id={`${id}-error`} className="text-xs text-rose-600" data-field-error={name}>
          {messages.join("; ")}
        </p>
      ) : hint ? (
        <p id={`${id}-hint`} className="text-xs text-slate-500">
          {hint}
        </p>
      ) : null}
    </div>
  );
}

/**
 * The messages for one field: its own key plus nested keys under it ("runAs.2",
 * "sandboxes.0.name"), so an array field shows the errors of its items too.
 */
export function fieldMessages(errors: Record<string, string[]> | undefined, name: string): string[] {
  if (!errors) return [];
  const out: string[] = [];
  for (const [key, messages] of Object.entries(errors)) {
    if (key === name) out.push(...messages);
    else if (key.startsWith(`${name}.`)) out.push(...messages.map((m) => `${key.slice(name.length + 1)}: ${m}`));
  }
  return out;
}

/** Whether any of the error's field errors belongs to one of `shown` (so no banner repeats it). */
export function onlyFieldErrors(error: ShownError | null, shown: string[]): boolean {
  if (!error) return false;
  const keys = Object.keys(error.fieldErrors);
  return keys.length > 0 && keys.every((k) => shown.some((s) => k === s || k.startsWith(`${s}.`)));
}

export const inputClass =
  "w-full rounded-md border border-slate-300 bg-white px-2.5 py-1.5 text-sm shadow-sm placeholder:text-slate-400 focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500 aria-[invalid=true]:border-rose-500";

/** A white panel with an optional title and actions. */
export function Card({ title, actions, children, className = "" }: { title?: string; actions?: React.ReactNode; children: React.ReactNode; className?: string }) {
  return (
    <section className={`rounded-lg border border-slate-200 bg-white shadow-sm ${className}`}>
      {title || actions ? (
        <header className="flex items-center justify-between gap-2 border-b border-slate-100 px-4 py-2.5">
          {title ? <h2 className="text-sm font-semibold text-slate-800">{title}</h2> : <span />}
          {actions}
        </header>
      ) : null}
      <div className="p-4">{children}</div>
    </section>
  );
}

/**
 * A failure in plain words, with the server's message and, for APPLY_FAILED, the command.
 * With `fields`: nothing when every field error belongs to one of those fields (each is
 * already shown by its field).
 */
export function ErrorBanner({ error, fields, className = "" }: { error: ShownError | null; fields?: string[]; className?: string }) {
  if (!error || (fields && onlyFieldErrors(error, fields))) return null;
  return (
    <div role="alert" className={`rounded-md border border-rose-200 bg-rose-50 px-3 py-2 text-sm text-rose-800 ${className}`} data-app-code={error.appCode}>
      <p className="font-medium">{wordsFor(error.appCode)}</p>
      <p className="mt-0.5 break-words">{error.message}</p>
      {error.command ? (
        <pre className="mt-1 overflow-x-auto rounded bg-rose-100 p-1.5 font-mono text-xs">
          {error.command.join(" ")}
          {error.stderr ? `\n${error.stderr}` : ""}
        </pre>
      ) : null}
    </div>
  );
}

/** The banner for a failed call (a query's or mutation's `error`), nothing without one. */
export function CallError({ error, className }: { error: unknown; className?: string }) {
  return error ? <ErrorBanner error={readError(error)} className={className} /> : null;
}

/** A query's failure or "Loading…" while it has no answer yet. */
export function QueryStatus({ query }: { query: { error: unknown; isPending: boolean } }) {
  if (query.error) return <CallError error={query.error} />;
  return query.isPending ? <Muted>Loading…</Muted> : null;
}

/** The page heading with optional actions on the right. */
export function PageHeader({ title, subtitle, actions }: { title: string; subtitle?: string; actions?: React.ReactNode }) {
  return (
    <div className="mb-4 flex flex-wrap items-end justify-between gap-3">
      <div>
        <h1 className="text-xl font-semibold text-slate-900">{title}</h1>
        {subtitle ? <p className="text-sm text-slate-500">{subtitle}</p> : null}
      </div>
      {actions ? <div className="flex items-center gap-2">{actions}</div> : null}
    </div>
  );
}

/** A small coloured label. */
export function Badge({ tone = "slate", children }: { tone?: "slate" | "green" | "amber" | "rose" | "indigo"; children: React.ReactNode }) {
  const tones = {
    slate: "bg-slate-100 text-slate-700",
    green: "bg-emerald-100 text-emerald-800",
    amber: "bg-amber-100 text-amber-800",
    rose: "bg-rose-100 text-rose-800",
    indigo: "bg-indigo-100 text-indigo-800",
  };
  return <span className={`inline-flex items-center rounded px-1.5 py-0.5 text-xs font-medium ${tones[tone]}`}>{children}</span>;
}

export const selectClass =
  "w-full rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500 aria-[invalid=true]:border-rose-500";

/** Table styles shared by every list in the console. */
export const table = {
  wrap: "overflow-x-auto",
  table: "w-full border-collapse text-left text-sm",
  th: "whitespace-nowrap border-b border-slate-200 px-3 py-2 text-xs font-semibold uppercase tracking-wide text-slate-500",
  td: "border-b border-slate-100 px-3 py-2 align-top",
  row: "hover:bg-slate-50",
};

/** A column of a DataTable: its heading, right-aligned or for screen readers only. */
export interface Column {
  label: string;
  align?: "right";
  srOnly?: boolean;
}

/**
 * A list table: the headings from `columns` (false/null ones left out, for columns only
 * some users see), the rows as children (use `table.row` and `table.td`).
 */
export function DataTable({
  label,
  columns,
  className = "",
  children,
}: {
  label: string;
  columns: (Column | string | false | null)[];
  className?: string;
  children: React.ReactNode;
}) {
  const shown = columns.filter((c): c is Column | string => !!c).map((c) => (typeof c === "string" ? { label: c } : c));
  return (
    <div className={table.wrap}>
      <table className={`${table.table} ${className}`} aria-label={label}>
        <thead>
          <tr>
            {shown.map((c, k) => (
              <th key={k} className={c.align === "right" ? `${table.th} text-right` : table.th}>
                {c.srOnly ? <span className="sr-only">{c.label}</span> : c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** The right-aligned heading of a row-actions column, read by screen readers only. */
export const ACTIONS_COLUMN: Column = { label: "Actions", align: "right", srOnly: true };

/** A sandbox's status as a coloured badge, the detail on hover. */
export function StatusBadge({ status, detail, testId }: { status: string; detail?: string; testId?: string }) {
  return (
    <span title={detail ?? status} data-testid={testId}>
      <Badge tone={statusTone(status)}>{status}</Badge>
    </span>
  );
}

/** A dialog form's buttons: Cancel, and submit with its in-flight label. */
export function FormActions({
  label,
  pendingLabel,
  pending,
  disabled = false,
  onCancel,
  cancelLabel = "Cancel",
  cancelDisabled = false,
}: {
  label: string;
  pendingLabel: string;
  pending: boolean;
  disabled?: boolean;
  onCancel: () => void;
  cancelLabel?: string;
  cancelDisabled?: boolean;
}) {
  return (
    <div className="flex justify-end gap-2 pt-1">
      <Button variant="secondary" onClick={onCancel} disabled={cancelDisabled}>
        {cancelLabel}
      </Button>
      <Button type="submit" disabled={pending || disabled}>
        {pending ? pendingLabel : label}
      </Button>
    </div>
  );
}

/**
 * A modal dialog on the native <dialog> element: focus moves into it, Escape closes it,
 * the page behind is inert. Rendered only while open.
 */
export function Dialog({
  open,
  title,
  onClose,
  children,
  wide = false,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: React.ReactNode;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  if (!open) return null;
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      className={`m-auto w-[calc(100%-2rem)] ${wide ? "max-w-2xl" : "max-w-md"} rounded-xl border border-slate-200 bg-white p-0 text-slate-900 shadow-xl backdrop:bg-slate-900/40`}
    >
      <div className="flex items-center justify-between border-b border-slate-100 px-5 py-3">
        <h2 id={titleId} className="text-base font-semibold">
          {title}
        </h2>
        <button type="button" onClick={onClose} aria-label="Close dialog" className="rounded p-1 text-slate-500 hover:bg-slate-100 hover:text-slate-900">
          ✕
        </button>
      </div>
      <div className="max-h-[75vh] overflow-y-auto px-5 py-4">{children}</div>
    </dialog>
  );
}

/**
 * Asks before something that cannot be undone, then runs it: `mutation` is the
 * react-query mutation `onConfirm` starts; while it runs the button waits, a failure is
 * shown here, and closing the dialog clears it (so it is not shown again next time).
 */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  mutation,
  onConfirm,
  onClose,
}: {
  open: boolean;
  title: string;
  children: React.ReactNode;
  confirmLabel: string;
  mutation: { isPending: boolean; error: unknown; reset: () => void };
  onConfirm: () => void;
  onClose: () => void;
}) {
  const pending = mutation.isPending;
  const close = () => {
    mutation.reset();
    onClose();
  };
  return (
    <Dialog open={open} title={title} onClose={close}>
      <div className="space-y-4">
        <div className="text-sm text-slate-700">{children}</div>
        <CallError error={mutation.error} />
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={close}>
            Cancel
          </Button>
          <Button variant="danger" onClick={onConfirm} disabled={pending} autoFocus>
            {pending ? "Working…" : confirmLabel}
          </Button>
        </div>
      </div>
    </Dialog>
  );
}

/** A line of muted text for empty lists and loading states. */
export function Muted({ children }: { children: React.ReactNode }) {
  return <p className="text-sm text-slate-500">{children}</p>;
}

/** "Not allowed" for a page the signed-in role may not use. */
export function NotAllowed({ what }: { what: string }) {
  return (
    <div role="alert" data-testid="not-allowed" className="rounded-lg border border-amber-200 bg-amber-50 p-4 text-sm text-amber-900">
      <p className="font-medium">Not allowed</p>
      <p>{what}</p>
    </div>
  );
}

/** A time shown in the reader's locale, with the exact ISO time on hover. */
export function Time({ at }: { at: string | null | undefined }) {
  if (!at) return <span className="text-slate-400">never</span>;
  const date = new Date(at);
  return (
    <time dateTime={at} title={at} className="whitespace-nowrap tabular-nums">
      {date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" })}
    </time>
  );
}
