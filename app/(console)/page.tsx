"use client";

import { PageHeader, Card } from "@/components/ui";
import { useSession } from "@/components/session";

/** The home page; the live topology graph lands here with the sandbox engine. */
export default function HomePage() {
  const user = useSession();
  return (
    <>
      <PageHeader title="Topology" subtitle="The live host: uplinks, sandboxes, links" />
      <Card>
        <p className="text-sm text-slate-600">Signed in as {user.username}. No sandboxes yet.</p>
      </Card>
    </>
  );
}
