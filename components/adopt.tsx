"use client";

import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "./trpc-provider";
import { canOperate, useSession } from "./session";
import { ConfirmDialog } from "./ui";

/** "Adopt" for a foreign namespace: asks, then takes it under management as it is. */
export function AdoptButton({ name, className = "" }: { name: string; className?: string }) {
  const trpc = useTRPC();
  const me = useSession();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const adopt = useMutation(
    trpc.sandbox.adopt.mutationOptions({
      onSuccess: async () => {
        setOpen(false);
        await queryClient.invalidateQueries();
      },
    }),
  );
  if (!canOperate(me)) return null;
  return (
    <>
      <button
        type="button"
        aria-label={`Adopt ${name}`}
        onClick={(e) => {
          e.stopPropagation();
          setOpen(true);
        }}
        className={`rounded border border-slate-300 bg-white px-1.5 py-0.5 text-xs font-medium text-slate-700 hover:bg-slate-100 ${className}`}
      >
        Adopt
      </button>
      <ConfirmDialog
        open={open}
        title={`Adopt ${name}?`}
        confirmLabel="Adopt"
        mutation={adopt}
        onConfirm={() => adopt.mutate({ name })}
        onClose={() => setOpen(false)}
      >
        <p>
          nslab takes <strong className="font-mono">{name}</strong> under management as it is, with you as its owner. From then on it can be changed and deleted
          here like any sandbox.
        </p>
      </ConfirmDialog>
    </>
  );
}
