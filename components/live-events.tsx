"use client";

import { useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { useTRPC } from "./trpc-provider";

/**
 * Subscribes to `events.watch` and refreshes every cached query when something changes,
 * so a change made in one browser shows in every other open one without reload.
 */
export function LiveEvents() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  useSubscription(
    trpc.events.watch.subscriptionOptions(undefined, {
      onData: () => {
        void queryClient.invalidateQueries();
      },
    }),
  );
  return null;
}
