"use client";

import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "./trpc-provider";
import { roleTone, type SessionUser } from "./session";
import { Badge } from "./ui";

interface NavItem {
  href: string;
  label: string;
  adminOnly?: boolean;
}

/** The console's sections; later areas add theirs here. */
export const NAV: NavItem[] = [
  { href: "/", label: "Topology" },
  { href: "/sandboxes", label: "Sandboxes" },
  { href: "/host", label: "Host" },
  { href: "/tokens", label: "API tokens" },
  { href: "/audit", label: "Audit log" },
  { href: "/users", label: "Users", adminOnly: true },
];

/** The app shell: navigation, who is signed in, sign out. */
export function Shell({ user, children }: { user: SessionUser; children: React.ReactNode }) {
  const trpc = useTRPC();
  const router = useRouter();
  const pathname = usePathname();
  const queryClient = useQueryClient();
  const logout = useMutation(
    trpc.auth.logout.mutationOptions({
      onSettled: () => {
        queryClient.clear();
        router.replace("/login");
      },
    }),
  );
  const items = NAV.filter((item) => !item.adminOnly || user.role === "admin");
  const isActive = (href: string) => (href === "/" ? pathname === "/" : pathname.startsWith(href));

  return (
    <div className="flex min-h-full flex-col">
      <header className="sticky top-0 z-20 border-b border-slate-800 bg-slate-900 text-slate-100">
        <div className="mx-auto flex max-w-[1600px] flex-wrap items-center gap-x-6 gap-y-2 px-4 py-2">
          <Link href="/" className="font-mono text-base font-semibold tracking-tight text-white">
            nslab
          </Link>
          <nav aria-label="Main" className="order-last flex w-full flex-wrap gap-1 md:order-none md:w-auto md:flex-1">
            {items.map((item) => (
              <Link
                key={item.href}
                href={item.href}
                aria-current={isActive(item.href) ? "page" : undefined}
                className={`rounded px-2.5 py-1 text-sm ${isActive(item.href) ? "bg-slate-700 text-white" : "text-slate-300 hover:bg-slate-800 hover:text-white"}`}
              >
                {item.label}
              </Link>
            ))}
          </nav>
          <div className="ml-auto flex items-center gap-3 text-sm">
            <span data-testid="signed-in-user">
              {user.username} <Badge tone={roleTone(user.role)}>{user.role}</Badge>
            </span>
            <button type="button" onClick={() => logout.mutate()} className="rounded px-2 py-1 text-slate-300 hover:bg-slate-800 hover:text-white">
              Sign out
            </button>
          </div>
        </div>
      </header>
      <main className="mx-auto w-full max-w-[1600px] flex-1 p-4">{children}</main>
    </div>
  );
}
