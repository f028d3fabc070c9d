"use client";

import { useEffect, useMemo, useRef, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { useTRPC } from "./trpc-provider";
import { readError } from "./errors";
import { useSession } from "./session";
import type { Program, Sandbox } from "./api-types";
import { ACTIONS_COLUMN, Badge, Button, CallError, Card, DataTable, ErrorBanner, Field, Muted, Time, inputClass, selectClass, table } from "./ui";

/**
 * Splits a command line into argv the way a person expects (spaces separate; '…' and "…"
 * quote; \ escapes) — it is only split here: nothing runs it through a shell.
 */
export function splitArgv(line: string): string[] | null {
  const out: string[] = [];
  let cur = "";
  let has = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      has = true;
    } else if (c === "\\" && i + 1 < line.length) {
      cur += line[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = "";
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (quote) return null;
  if (has) out.push(cur);
  return out;
}

const stateLabel = (p: Program) =>
  p.state === "running" ? "running" : p.signal ? `ended by ${p.signal}` : `exited ${p.exitCode ?? "?"}`;

/** Programs in the sandbox: start (argv, user from runAs), list, stop, follow the log. */
export function ProgramsPanel({ sandbox, editable }: { sandbox: Sandbox; editable: boolean }) {
  const trpc = useTRPC();
  const me = useSession();
  const queryClient = useQueryClient();
  const programs = useQuery({ ...trpc.process.list.queryOptions({ sandbox: sandbox.name }), refetchInterval: 5000 });
  const [line, setLine] = useState("");
  const [user, setUser] = useState(me.runAs.includes("nobody") ? "nobody" : (me.runAs[0] ?? ""));
  const [cwd, setCwd] = useState("");
  const [following, setFollowing] = useState<string | null>(null);
  const argv = splitArgv(line);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.process.list.queryKey() });
  const start = useMutation(
    trpc.process.start.mutationOptions({
      onSuccess: async (out) => {
        setFollowing(out.id);
        await refresh();
      },
    }),
  );
  const stop = useMutation(trpc.process.stop.mutationOptions({ onSettled: refresh }));
  const error = start.error ? readError(start.error) : null;
  const list = useMemo(() => [...(programs.data ?? [])].sort((a, b) => b.startedAt.localeCompare(a.startedAt)), [programs.data]);
  const argvErrors = { argv: argv === null ? ["a quote is not closed"] : [] };
  const fieldErrors = { ...(error?.fieldErrors ?? {}), ...(argv === null ? argvErrors : {}) };

  return (
    <Card title="Programs">
      {editable ? (
        <form
          aria-label="Start a program"
          className="mb-4 space-y-3 border-b border-slate-100 pb-4"
          onSubmit={(e) => {
            e.preventDefault();
            if (!argv) return;
            start.mutate({ sandbox: sandbox.name, argv, user, ...(cwd.trim() ? { cwd: cwd.trim() } : {}) });
          }}
        >
          <div className="grid gap-3 md:grid-cols-[1fr_12rem_12rem]">
            <Field label="Command" name="argv" errors={fieldErrors} hint="Split into arguments as shown below; never run through a shell">
              {(p) => <input {...p} className={`${inputClass} font-mono`} autoComplete="off" placeholder="python3 -m http.server 8000" value={line} onChange={(e) => setLine(e.target.value)} />}
            </Field>
            <Field label="Run as" name="user" errors={fieldErrors} hint={me.role === "admin" ? "Any account (admin)" : "Accounts you may use"}>
              {(p) =>
                me.role === "admin" ? (
                  <>
                    <input {...p} list="run-as-accounts" className={`${inputClass} font-mono`} autoComplete="off" value={user} onChange={(e) => setUser(e.target.value)} />
                    <datalist id="run-as-accounts">
                      {me.runAs.map((u) => (
                        <option key={u} value={u} />
                      ))}
                    </datalist>
                  </>
                ) : (
                  <select {...p} className={selectClass} value={user} onChange={(e) => setUser(e.target.value)}>
                    {me.runAs.length === 0 ? <option value="">no accounts allowed</option> : null}
                    {me.runAs.map((u) => (
                      <option key={u} value={u}>
                        {u}
                      </option>
                    ))}
                  </select>
                )
              }
            </Field>
            <Field label="Working directory" name="cwd" errors={fieldErrors}>
              {(p) => <input {...p} className={`${inputClass} font-mono`} autoComplete="off" placeholder="optional, e.g. /tmp" value={cwd} onChange={(e) => setCwd(e.target.value)} />}
            </Field>
          </div>
          {argv && argv.length > 0 ? (
            <p className="flex flex-wrap items-center gap-1 text-xs text-slate-500" aria-label="Arguments">
              argv:
              {argv.map((a, k) => (
                <code key={k} className="rounded bg-slate-100 px-1 py-0.5 font-mono text-slate-800">
                  {a === "" ? '""' : a}
                </code>
              ))}
            </p>
          ) : null}
          <ErrorBanner error={error} fields={["argv", "user", "cwd", "env"]} />
          <Button type="submit" disabled={start.isPending || !argv?.length || !user}>
            {start.isPending ? "Starting…" : "Start program"}
          </Button>
        </form>
      ) : null}
      <CallError error={programs.error} />
      {programs.data && list.length === 0 ? <Muted>No programs have run here.</Muted> : null}
      {list.length > 0 ? (
        <DataTable label="Programs" columns={["Command", "User", "PID", "State", "Started", ACTIONS_COLUMN]}>
          {list.map((p) => (
            <tr key={p.id} className={`${table.row} ${following === p.id ? "bg-indigo-50/60" : ""}`} data-testid={`program-row-${p.id}`} data-state={p.state}>
              <td className={`${table.td} max-w-md break-all font-mono text-xs`}>{p.argv.join(" ")}</td>
              <td className={`${table.td} font-mono text-xs`}>{p.user}</td>
              <td className={`${table.td} tabular-nums`}>{p.pid ?? ""}</td>
              <td className={table.td}>
                <Badge tone={p.state === "running" ? "green" : p.exitCode === 0 ? "slate" : "amber"}>{stateLabel(p)}</Badge>
              </td>
              <td className={`${table.td} text-xs`}>
                <Time at={p.startedAt} />
                <span className="block text-slate-500">by {p.startedBy}</span>
              </td>
              <td className={`${table.td} whitespace-nowrap text-right`}>
                <Button variant="ghost" onClick={() => setFollowing(following === p.id ? null : p.id)} aria-pressed={following === p.id} aria-label={`Log of ${p.id}`}>
                  {following === p.id ? "Hide log" : "Log"}
                </Button>
                {editable && p.state === "running" ? (
                  <Button variant="ghost-danger" aria-label={`Stop ${p.id}`} disabled={stop.isPending} onClick={() => stop.mutate({ id: p.id })}>
                    Stop
                  </Button>
                ) : null}
              </td>
            </tr>
          ))}
        </DataTable>
      ) : null}
      <CallError error={stop.error} />
      {following ? <LogView key={following} id={following} onEnded={refresh} /> : null}
    </Card>
  );
}

interface Chunk {
  stream: "stdout" | "stderr" | "note";
  text: string;
}

/** The program's kept output, then new output live (process.output), following the end. */
function LogView({ id, onEnded }: { id: string; onEnded: () => void }) {
  const trpc = useTRPC();
  const logs = useQuery({ ...trpc.process.logs.queryOptions({ id }), staleTime: Infinity, refetchOnMount: "always" });
  const [chunks, setChunks] = useState<Chunk[]>([]);
  const [ended, setEnded] = useState<string | null>(null);
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLPreElement>(null);
  const initial = logs.data;

  const sub = useSubscription(
    trpc.process.output.subscriptionOptions(
      { id, ...(initial?.cursor ? { lastEventId: initial.cursor } : {}) },
      {
        enabled: !!initial,
        onData: ({ data: event }) => {
          if (event.kind === "output") setChunks((c) => [...c, { stream: event.stream, text: event.data }]);
          else if (event.kind === "skipped") setChunks((c) => [...c, { stream: "note", text: `\n[… ${event.bytes} bytes of ${event.stream} skipped …]\n` }]);
          else if (event.kind === "exit") {
            setEnded(event.signal ? `ended by ${event.signal}` : `exited with code ${event.exitCode ?? "?"}`);
            onEnded();
          }
        },
      },
    ),
  );

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [chunks, initial, follow]);

  const start: Chunk[] = initial
    ? [
        ...(initial.truncated ? [{ stream: "note" as const, text: "[older output was cut: only the newest part is kept]\n" }] : []),
        ...(initial.stdout ? [{ stream: "stdout" as const, text: initial.stdout }] : []),
        ...(initial.stderr ? [{ stream: "stderr" as const, text: initial.stderr }] : []),
      ]
    : [];
  const all = [...start, ...chunks];

  return (
    <section aria-label={`Log of ${id}`} className="mt-4 rounded-lg border border-slate-800 bg-slate-950">
      <header className="flex flex-wrap items-center justify-between gap-2 border-b border-slate-800 px-3 py-1.5 text-xs text-slate-300">
        <span className="font-mono">
          {id} ·{" "}
          {ended ? (
            <span className="text-amber-300">{ended}</span>
          ) : sub.status === "pending" ? (
            <span className="text-emerald-300" data-testid="log-live">
              ● live
            </span>
          ) : (
            <span>{sub.status}</span>
          )}
        </span>
        <label className="flex items-center gap-1.5">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} />
          Follow the end
        </label>
      </header>
      {logs.error ? <p className="p-3 text-sm text-rose-300">{readError(logs.error).message}</p> : null}
      <pre ref={box} data-testid="program-log" className="max-h-80 min-h-24 overflow-auto p-3 font-mono text-xs leading-relaxed whitespace-pre-wrap text-slate-100">
        {all.length === 0 ? <span className="text-slate-500">{initial ? "No output yet." : "Loading…"}</span> : null}
        {all.map((c, k) => (
          <span key={k} className={c.stream === "stderr" ? "text-rose-300" : c.stream === "note" ? "text-slate-500" : undefined}>
            {c.text}
          </span>
        ))}
      </pre>
    </section>
  );
}
