import type { Metadata } from "next";
import "./globals.css";
import { TRPCProvider } from "@/components/trpc-provider";

export const metadata: Metadata = {
  title: "nslab",
  description: "Network sandboxes on a shared Linux lab host",
};

/** The root layout: every page gets the tRPC client. */
export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body className="bg-slate-50 font-sans text-slate-900 antialiased">
        <TRPCProvider>{children}</TRPCProvider>
      </body>
    </html>
  );
}
