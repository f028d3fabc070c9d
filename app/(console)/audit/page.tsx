"use client";

import { useState } from "react";
import { AuditTable, type AuditFilter } from "@/components/audit-table";
import { Button, Card, Field, PageHeader, inputClass } from "@/components/ui";

/** Who did what, when: every mutation's audit row, filtered by user, sandbox and action. */
export default function AuditPage() {
  const [draft, setDraft] = useState<AuditFilter>({});
  const [filter, setFilter] = useState<AuditFilter>({});
  const set = (key: keyof AuditFilter) => (e: React.ChangeEvent<HTMLInputElement>) => setDraft((d) => ({ ...d, [key]: e.target.value.trim() }));

  return (
    <>
      <PageHeader title="Audit log" subtitle="Every change, who made it and whether it worked; newest first" />
      <Card className="mb-4">
        <form
          role="search"
          aria-label="Filter the audit log"
          className="grid items-end gap-3 sm:grid-cols-2 lg:grid-cols-[1fr_1fr_1fr_auto]"
          onSubmit={(e) => {
            e.preventDefault();
            setFilter(draft);
          }}
        >
          <Field label="User" name="user">
            {(p) => <input {...p} className={inputClass} placeholder="any" value={draft.user ?? ""} onChange={set("user")} />}
          </Field>
          <Field label="Sandbox" name="sandbox">
            {(p) => <input {...p} className={inputClass} placeholder="any" value={draft.sandbox ?? ""} onChange={set("sandbox")} />}
          </Field>
          <Field label="Action" name="action">
            {(p) => <input {...p} className={`${inputClass} font-mono`} placeholder="any, e.g. user.create" list="audit-actions" value={draft.action ?? ""} onChange={set("action")} />}
          </Field>
          <datalist id="audit-actions">
            {[
              "auth.login",
              "auth.logout",
              "user.create",
              "user.update",
              "user.delete",
              "token.create",
              "token.revoke",
              "sandbox.create",
              "sandbox.createMany",
              "sandbox.delete",
              "sandbox.deleteMany",
              "sandbox.setPolicy",
              "sandbox.adopt",
              "rule.add",
              "rule.delete",
              "rule.move",
              "rule.replaceAll",
              "port.add",
              "port.delete",
              "process.start",
              "process.stop",
              "host.reconcile",
            ].map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
          <div className="flex gap-2">
            <Button type="submit">Apply</Button>
            <Button
              variant="secondary"
              onClick={() => {
                setDraft({});
                setFilter({});
              }}
            >
              Clear
            </Button>
          </div>
        </form>
      </Card>
      <Card>
        <AuditTable filter={filter} />
      </Card>
    </>
  );
}
