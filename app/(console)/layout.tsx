"use client";

import { useEffect } from "react";
import { useRouter } from "next/navigation";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc-provider";
import { Shell } from "@/components/shell";
import { SessionProvider } from "@/components/session";
import { LiveEvents } from "@/components/live-events";
import { readError } from "@/components/errors";

/** Every signed-in page: checks the session, then draws the shell around the page. */
export default function ConsoleLayout({ children }: { children: React.ReactNode }) {
  const trpc = useTRPC();
  const router = useRouter();
  const me = useQuery(trpc.auth.me.queryOptions());
  const unauthenticated = me.error && readError(me.error).appCode === "UNAUTHENTICATED";

  useEffect(() => {
    if (unauthenticated) router.replace("/login");
  }, [unauthenticated, router]);

  if (!me.data) {
    return <p className="p-6 text-sm text-slate-500">{me.error && !unauthenticated ? readError(me.error).message : "Loading…"}</p>;
  }
  return (
    <SessionProvider value={me.data}>
      <LiveEvents />
      <Shell user={me.data}>{children}</Shell>
    </SessionProvider>
  );
}
