"use client";

import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "./trpc-provider";
import { readError } from "./errors";
import { formatBytes, formatCount } from "./format";
import type { PolicyAction, Rule, RuleList, Sandbox } from "./api-types";
import { ACTIONS_COLUMN, Badge, Button, CallError, Card, ConfirmDialog, DataTable, Dialog, ErrorBanner, Field, FormActions, Muted, QueryStatus, inputClass, selectClass, table } from "./ui";

type Direction = Rule["direction"];
interface RuleDraft {
  direction: Direction;
  action: Rule["action"];
  protocol: Rule["protocol"];
  peer: string;
  ports: string;
  comment: string;
}
const EMPTY: RuleDraft = { direction: "egress", action: "drop", protocol: "any", peer: "", ports: "", comment: "" };
const RULE_FIELDS = ["direction", "action", "protocol", "peer", "ports", "comment", "position"];

/** A draft as the API takes it (empty fields left out). */
function specOf(d: RuleDraft) {
  return {
    direction: d.direction,
    action: d.action,
    protocol: d.protocol,
    ...(d.peer.trim() ? { peer: d.peer.trim() } : {}),
    ...(d.ports.trim() ? { ports: d.ports.trim() } : {}),
    ...(d.comment.trim() ? { comment: d.comment.trim() } : {}),
  };
}
const draftOf = (r: Rule): RuleDraft => ({ direction: r.direction, action: r.action, protocol: r.protocol, peer: r.peer ?? "", ports: r.ports ?? "", comment: r.comment ?? "" });
const specOfRule = (r: Rule) => specOf(draftOf(r));

const actionTone = (a: string) => (a === "accept" ? "green" : a === "drop" ? "rose" : "amber");

/** The fields of one rule (add form and edit dialog). */
function RuleFields({ draft, set, errors, compact }: { draft: RuleDraft; set: (d: RuleDraft) => void; errors?: Record<string, string[]>; compact?: boolean }) {
  const up = <K extends keyof RuleDraft>(key: K) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => set({ ...draft, [key]: e.target.value });
  return (
    <div className={compact ? "grid gap-3 sm:grid-cols-3 lg:grid-cols-6" : "grid gap-3 sm:grid-cols-2"}>
      <Field label="Direction" name="direction" errors={errors}>
        {(p) => (
          <select {...p} className={selectClass} value={draft.direction} onChange={up("direction")}>
            <option value="egress">egress (leaving)</option>
            <option value="ingress">ingress (coming in)</option>
          </select>
        )}
      </Field>
      <Field label="Action" name="action" errors={errors}>
        {(p) => (
          <select {...p} className={selectClass} value={draft.action} onChange={up("action")}>
            <option value="accept">accept</option>
            <option value="drop">drop</option>
            <option value="reject">reject</option>
          </select>
        )}
      </Field>
      <Field label="Protocol" name="protocol" errors={errors}>
        {(p) => (
          <select {...p} className={selectClass} value={draft.protocol} onChange={up("protocol")}>
            <option value="any">any</option>
            <option value="tcp">tcp</option>
            <option value="udp">udp</option>
            <option value="icmp">icmp</option>
          </select>
        )}
      </Field>
      <Field label="Peer (CIDR)" name="peer" errors={errors}>
        {(p) => <input {...p} className={`${inputClass} font-mono`} placeholder="any" autoComplete="off" value={draft.peer} onChange={up("peer")} />}
      </Field>
      <Field label="Ports" name="ports" errors={errors}>
        {(p) => <input {...p} className={`${inputClass} font-mono`} placeholder="80 or 8000-8080" autoComplete="off" value={draft.ports} onChange={up("ports")} />}
      </Field>
      <Field label="Comment" name="comment" errors={errors}>
        {(p) => <input {...p} className={inputClass} placeholder="optional" autoComplete="off" value={draft.comment} onChange={up("comment")} />}
      </Field>
    </div>
  );
}

/** What happens to traffic no rule matched, per direction, shown big; owners can flip it. */
export function PolicyPanel({ sandbox, rules, editable }: { sandbox: Sandbox; rules: RuleList | undefined; editable: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const setPolicy = useMutation(
    trpc.sandbox.setPolicy.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries(),
    }),
  );
  const policy = rules?.policy ?? { ...sandbox.policy, egressPackets: 0, ingressPackets: 0 };
  const box = (direction: Direction, words: string) => {
    const value = policy[direction];
    const packets = direction === "egress" ? policy.egressPackets : policy.ingressPackets;
    return (
      <div
        className={`flex-1 rounded-lg border-2 p-3 ${value === "drop" ? "border-rose-200 bg-rose-50" : "border-emerald-200 bg-emerald-50"}`}
        data-testid={`policy-${direction}`}
      >
        <p className="text-xs font-semibold uppercase tracking-wide text-slate-600">
          {direction} <span className="font-normal normal-case">— {words}</span>
        </p>
        <p className="mt-1 text-lg font-semibold">
          no rule matched → <span className={value === "drop" ? "text-rose-700" : "text-emerald-700"}>{value}</span>
        </p>
        <p className="text-xs text-slate-600 tabular-nums">{formatCount(packets)} packets so far</p>
        {editable ? (
          <label className="mt-2 flex items-center gap-2 text-sm">
            <span>Default for {direction}</span>
            <select
              className={`${selectClass} w-auto`}
              value={value}
              disabled={setPolicy.isPending}
              onChange={(e) => setPolicy.mutate({ name: sandbox.name, [direction]: e.target.value as PolicyAction })}
            >
              <option value="accept">accept</option>
              <option value="drop">drop</option>
            </select>
          </label>
        ) : null}
      </div>
    );
  };
  return (
    <div className="space-y-2">
      <div className="flex flex-col gap-3 sm:flex-row">
        {box("egress", "traffic leaving the sandbox")}
        {box("ingress", "traffic going into it")}
      </div>
      <CallError error={setPolicy.error} />
    </div>
  );
}

/** The sandbox's rules in order with live counters; add, edit, delete, move up/down. */
export function RulesPanel({ sandbox, editable }: { sandbox: Sandbox; editable: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const rules = useQuery({ ...trpc.rule.list.queryOptions({ sandbox: sandbox.name }), refetchInterval: 1500 });
  const data = rules.data;
  const [draft, setDraft] = useState<RuleDraft>(EMPTY);
  const [position, setPosition] = useState<"last" | "first">("last");
  const [editing, setEditing] = useState<{ rule: Rule; revision: number; list: Rule[] } | null>(null);
  const [deleting, setDeleting] = useState<Rule | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.rule.list.queryKey({ sandbox: sandbox.name }) });

  const add = useMutation(
    trpc.rule.add.mutationOptions({
      onSuccess: async () => {
        setDraft((d) => ({ ...d, peer: "", ports: "", comment: "" }));
        await refresh();
      },
    }),
  );
  const move = useMutation(trpc.rule.move.mutationOptions({ onSettled: refresh }));
  const remove = useMutation(
    trpc.rule.delete.mutationOptions({
      onSuccess: async () => {
        setDeleting(null);
        await refresh();
      },
    }),
  );
  const addError = add.error ? readError(add.error) : null;

  return (
    <div className="space-y-4">
      <PolicyPanel sandbox={sandbox} rules={data} editable={editable} />
      <Card title="Filter rules" actions={<span className="text-xs text-slate-500">first match wins · counters live{data ? ` · revision ${data.revision}` : ""}</span>}>
        <QueryStatus query={rules} />
        {data && data.rules.length === 0 ? <Muted>No rules: every packet gets the default policy above.</Muted> : null}
        {data && data.rules.length > 0 ? (
          <DataTable
            label="Filter rules"
            className="[&_td]:px-2 [&_th]:px-2"
            columns={["#", "Direction", "Action", "Protocol", "Peer", "Ports", "Comment", { label: "Packets", align: "right" }, { label: "Bytes", align: "right" }, editable && ACTIONS_COLUMN]}
          >
            {data.rules.map((r, k) => (
              <tr key={r.id} className={table.row} data-testid="rule-row" data-rule-id={r.id}>
                <td className={`${table.td} tabular-nums text-slate-500`}>{k + 1}</td>
                <td className={table.td}>{r.direction}</td>
                <td className={table.td}>
                  <Badge tone={actionTone(r.action)}>{r.action}</Badge>
                </td>
                <td className={table.td}>{r.protocol}</td>
                <td className={`${table.td} font-mono text-xs`}>{r.peer ?? "any"}</td>
                <td className={`${table.td} font-mono text-xs`}>{r.ports ?? "all"}</td>
                <td className={`${table.td} text-slate-600`}>{r.comment}</td>
                <td className={`${table.td} text-right tabular-nums`} data-testid="rule-packets">
                  {formatCount(r.packets)}
                </td>
                <td className={`${table.td} text-right tabular-nums`}>{formatBytes(r.bytes)}</td>
                {editable ? (
                  <td className={`${table.td} whitespace-nowrap text-right`}>
                    <Button variant="ghost" className="px-1.5" title="Move up" aria-label={`Move rule ${k + 1} up`} disabled={k === 0 || move.isPending} onClick={() => move.mutate({ sandbox: sandbox.name, id: r.id, position: k - 1 })}>
                      ↑
                    </Button>
                    <Button
                      variant="ghost"
                      className="px-1.5"
                      title="Move down"
                      aria-label={`Move rule ${k + 1} down`}
                      disabled={k === data.rules.length - 1 || move.isPending}
                      onClick={() => move.mutate({ sandbox: sandbox.name, id: r.id, position: k + 1 })}
                    >
                      ↓
                    </Button>
                    <Button variant="ghost" className="px-1.5" title="Edit" aria-label={`Edit rule ${k + 1}`} onClick={() => setEditing({ rule: r, revision: data.revision, list: data.rules })}>
                      ✎
                    </Button>
                    <Button variant="ghost-danger" className="px-1.5" title="Delete" aria-label={`Delete rule ${k + 1}`} onClick={() => setDeleting(r)}>
                      ✕
                    </Button>
                  </td>
                ) : null}
              </tr>
            ))}
          </DataTable>
        ) : null}
        <CallError error={move.error} className="mt-2" />
        {editable ? (
          <form
            aria-label="Add a rule"
            className="mt-4 space-y-3 border-t border-slate-100 pt-4"
            onSubmit={(e) => {
              e.preventDefault();
              add.mutate({ sandbox: sandbox.name, ...specOf(draft), ...(position === "first" ? { position: 0 } : {}) });
            }}
          >
            <h3 className="text-sm font-semibold text-slate-800">Add a rule</h3>
            <RuleFields draft={draft} set={setDraft} errors={addError?.fieldErrors} compact />
            <ErrorBanner error={addError} fields={RULE_FIELDS} />
            <div className="flex flex-wrap items-center gap-3">
              <label className="flex items-center gap-2 text-sm">
                <span>Place</span>
                <select className={`${selectClass} w-auto`} value={position} onChange={(e) => setPosition(e.target.value as "last" | "first")}>
                  <option value="last">at the end</option>
                  <option value="first">at the top</option>
                </select>
              </label>
              <Button type="submit" disabled={add.isPending}>
                {add.isPending ? "Adding…" : "Add rule"}
              </Button>
            </div>
          </form>
        ) : null}
      </Card>
      {editing ? <EditRuleDialog sandbox={sandbox.name} editing={editing} onClose={() => setEditing(null)} /> : null}
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this rule?"
        confirmLabel="Delete rule"
        mutation={remove}
        onConfirm={() => deleting && remove.mutate({ sandbox: sandbox.name, id: deleting.id })}
        onClose={() => setDeleting(null)}
      >
        {deleting ? (
          <p>
            {deleting.direction} {deleting.action} {deleting.protocol} {deleting.peer ?? "any peer"} {deleting.ports ? `ports ${deleting.ports}` : ""}
            {deleting.comment ? ` (“${deleting.comment}”)` : ""}
          </p>
        ) : null}
      </ConfirmDialog>
    </div>
  );
}

/**
 * Edits one rule as a whole-list change against the revision the list had when the
 * dialog opened: if someone changed the rules meanwhile the server answers CONFLICT and
 * nothing is overwritten.
 */
function EditRuleDialog({ sandbox, editing, onClose }: { sandbox: string; editing: { rule: Rule; revision: number; list: Rule[] }; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<RuleDraft>(draftOf(editing.rule));
  const replace = useMutation(
    trpc.rule.replaceAll.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.rule.list.queryKey({ sandbox }) });
        onClose();
      },
    }),
  );
  const error = replace.error ? readError(replace.error) : null;
  // Field errors of the edited item come back as "rules.K.field".
  const k = editing.list.findIndex((r) => r.id === editing.rule.id);
  const fieldErrors: Record<string, string[]> = {};
  for (const [key, messages] of Object.entries(error?.fieldErrors ?? {})) {
    const m = /^rules\.(\d+)\.(.+)$/.exec(key);
    if (m && Number(m[1]) === k) fieldErrors[m[2]!] = messages;
  }
  const conflict = error?.appCode === "CONFLICT";
  return (
    <Dialog open wide title={`Edit rule ${k + 1}`} onClose={onClose}>
      <form
        className="space-y-3"
        onSubmit={(e) => {
          e.preventDefault();
          replace.mutate({
            sandbox,
            revision: editing.revision,
            rules: editing.list.map((r) => (r.id === editing.rule.id ? specOf(draft) : specOfRule(r))),
          });
        }}
      >
        <RuleFields draft={draft} set={setDraft} errors={fieldErrors} />
        {conflict ? (
          <div role="alert" data-testid="rule-conflict" className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900" data-app-code="CONFLICT">
            <p className="font-medium">The rules changed since you opened this (someone else edited them). Nothing was overwritten.</p>
            <p className="mt-0.5">{error?.message}</p>
            <p className="mt-0.5">Close this dialog to see the current list, then edit again.</p>
          </div>
        ) : error && !Object.keys(fieldErrors).length ? (
          <ErrorBanner error={error} />
        ) : null}
        <FormActions label="Save rule" pendingLabel="Saving…" pending={replace.isPending} disabled={conflict} onCancel={onClose} cancelLabel={conflict ? "Close" : "Cancel"} />
      </form>
    </Dialog>
  );
}
