/**
 * Next calls this once when the server starts: open the store, apply migrations,
 * bootstrap the first admin and run start-up work before the first request.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { getApp } = await import("./server/app");
  await getApp().ready;
}
