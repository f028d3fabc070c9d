import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { appRouter } from "@/server/api/root";
import { createContext } from "@/server/api/trpc";
import { getApp } from "@/server/app";
import { readBodyCapped, tooLargeResponse } from "@/server/api/body-limit";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** The whole API: tRPC over HTTP at /api/trpc, no transformer (API.md). */
async function handler(req: Request): Promise<Response> {
  const app = getApp();
  await app.ready;
  let request = req;
  if (req.method === "POST") {
    const body = await readBodyCapped(req);
    if (body === null) return tooLargeResponse(new URL(req.url).pathname);
    request = new Request(req.url, { method: req.method, headers: req.headers, body, signal: req.signal });
  }
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req: request,
    router: appRouter,
    createContext: ({ resHeaders }) => createContext(app, request, resHeaders),
  });
}

export { handler as GET, handler as POST };
