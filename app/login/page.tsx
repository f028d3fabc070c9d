"use client";

import { useState } from "react";
import { useRouter } from "next/navigation";
import { useMutation } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc-provider";
import { Button, ErrorBanner, Field, inputClass } from "@/components/ui";
import { readError } from "@/components/errors";

/** The sign-in page. */
export default function LoginPage() {
  const trpc = useTRPC();
  const router = useRouter();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const login = useMutation(trpc.auth.login.mutationOptions({ onSuccess: () => router.replace("/") }));
  const error = login.error ? readError(login.error) : null;

  return (
    <main className="flex min-h-full items-center justify-center p-6">
      <form
        className="w-full max-w-sm space-y-4 rounded-xl border border-slate-200 bg-white p-6 shadow-sm"
        onSubmit={(e) => {
          e.preventDefault();
          login.mutate({ username, password });
        }}
      >
        <div>
          <h1 className="text-lg font-semibold">Sign in to nslab</h1>
          <p className="text-sm text-slate-500">Network sandboxes on this lab host</p>
        </div>
        <Field label="User name" name="username" errors={error?.fieldErrors}>
          {(p) => <input {...p} className={inputClass} autoComplete="username" autoFocus value={username} onChange={(e) => setUsername(e.target.value)} />}
        </Field>
        <Field label="Password" name="password" errors={error?.fieldErrors}>
          {(p) => <input {...p} type="password" className={inputClass} autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />}
        </Field>
        {error && !Object.keys(error.fieldErrors).length ? <ErrorBanner error={error} /> : null}
        <Button type="submit" className="w-full" disabled={login.isPending}>
          {login.isPending ? "Signing in…" : "Sign in"}
        </Button>
      </form>
    </main>
  );
}
