import fs from "node:fs";
import path from "node:path";
import { expect, type Page, type TestInfo } from "@playwright/test";

/** The admin password the Playwright config gives the server (NSLAB_ADMIN_PASSWORD). */
export const ADMIN_PASSWORD = process.env.NSLAB_E2E_ADMIN_PASSWORD ?? "admin-password-for-e2e";

/** Signs in through the sign-in page and waits for the shell. */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto("/login");
  await page.getByLabel("User name").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("signed-in-user")).toContainText(username);
}

/**
 * Saves a screenshot of the page as a test artifact under artifacts/screenshots (and
 * attaches it to the report).
 */
export async function screenshot(page: Page, testInfo: TestInfo, name: string, options: { fullPage?: boolean } = {}): Promise<string> {
  const dir = process.env.NSLAB_E2E_SCREENSHOTS ?? path.resolve("artifacts/screenshots");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: options.fullPage ?? false });
  await testInfo.attach(name, { path: file, contentType: "image/png" });
  return file;
}

/**
 * Calls a tRPC mutation from inside the page, as the page's own script would (same
 * origin, the session cookie): for "refused if forced" checks.
 */
export async function forceMutation(page: Page, procedure: string, input: unknown): Promise<{ status: number; body: any }> {
  return page.evaluate(
    async ({ procedure, input }) => {
      const res = await fetch(`/api/trpc/${procedure}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(input),
      });
      return { status: res.status, body: await res.json().catch(() => null) };
    },
    { procedure, input },
  );
}

/** Calls a tRPC query from inside the page (same origin, the session cookie). */
export async function forceQuery(page: Page, procedure: string, input?: unknown): Promise<{ status: number; body: any }> {
  return page.evaluate(
    async ({ procedure, input }) => {
      const qs = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`;
      const res = await fetch(`/api/trpc/${procedure}${qs}`);
      return { status: res.status, body: await res.json().catch(() => null) };
    },
    { procedure, input },
  );
}

/** A name unlikely to clash with another test's in the same server. */
export function uniqueName(prefix: string): string {
  return `${prefix}${Math.random().toString(36).slice(2, 7)}`;
}

/** Calls a mutation from the page and fails the test with the server's message if it fails. */
export async function api(page: Page, procedure: string, input: unknown): Promise<any> {
  const out = await forceMutation(page, procedure, input);
  if (out.status !== 200) throw new Error(`${procedure} failed (${out.status}): ${JSON.stringify(out.body)}`);
  return out.body.result.data;
}
