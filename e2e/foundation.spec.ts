import { expect, test } from "@playwright/test";
import { ADMIN_PASSWORD, forceMutation, forceQuery, screenshot, signIn, uniqueName } from "./helpers";

test.describe("foundation", () => {
  test("admin creates a viewer; the viewer is offered no admin pages, is refused if forcing, and signs out for good", async ({ page, browser }, testInfo) => {
    const viewerName = uniqueName("vera");
    const viewerPassword = "viewer-password-1";

    await test.step("admin signs in and sees the shell", async () => {
      await page.goto("/");
      await expect(page).toHaveURL(/\/login$/);
      await screenshot(page, testInfo, "login");
      await signIn(page, "admin", ADMIN_PASSWORD);
      const nav = page.getByRole("navigation", { name: "Main" });
      for (const link of ["Topology", "API tokens", "Audit log", "Users"]) {
        await expect(nav.getByRole("link", { name: link })).toBeVisible();
      }
      await expect(page.getByTestId("signed-in-user")).toContainText("admin");
      await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
    });

    await test.step("bad input in the new-user dialog shows errors next to the fields and creates nothing", async () => {
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" }).click();
      await expect(page.getByRole("heading", { name: "Users", level: 1 })).toBeVisible();
      await page.getByRole("button", { name: "New user" }).click();
      const dialog = page.getByRole("dialog", { name: "New user" });
      await dialog.getByLabel("User name").fill("Bad Name");
      await dialog.getByLabel("Password").fill("short");
      await dialog.getByRole("button", { name: "Create user" }).click();
      await expect(dialog.locator('[data-field-error="username"]')).toBeVisible();
      await expect(dialog.locator('[data-field-error="password"]')).toContainText("at least 8");
      await expect(dialog.getByLabel("User name")).toHaveAttribute("aria-invalid", "true");
      await screenshot(page, testInfo, "users-create-errors");
      await dialog.getByRole("button", { name: "Cancel" }).click();
      await expect(page.getByRole("dialog")).toHaveCount(0);
      await expect(page.getByTestId("user-row-bad name")).toHaveCount(0);
    });

    await test.step("admin creates a viewer", async () => {
      await page.getByRole("button", { name: "New user" }).click();
      const dialog = page.getByRole("dialog", { name: "New user" });
      await dialog.getByLabel("User name").fill(viewerName);
      await dialog.getByLabel("Password").fill(viewerPassword);
      await dialog.getByLabel("Role").selectOption("viewer");
      await dialog.getByLabel(/May run programs as/).fill("nobody");
      await dialog.getByRole("button", { name: "Create user" }).click();
      await expect(page.getByRole("dialog")).toHaveCount(0);
      const row = page.getByTestId(`user-row-${viewerName}`);
      await expect(row).toContainText("viewer");
      await expect(row).toContainText("nobody");
      await screenshot(page, testInfo, "users");
    });

    const viewerContext = await browser.newContext();
    const viewer = await viewerContext.newPage();

    await test.step("the viewer, in a second browser, is offered no admin navigation or page", async () => {
      await signIn(viewer, viewerName, viewerPassword);
      await expect(viewer.getByTestId("signed-in-user")).toContainText("viewer");
      const nav = viewer.getByRole("navigation", { name: "Main" });
      await expect(nav.getByRole("link", { name: "Audit log" })).toBeVisible();
      await expect(nav.getByRole("link", { name: "Users" })).toHaveCount(0);
      await viewer.goto("/users");
      await expect(viewer.getByTestId("not-allowed")).toBeVisible();
      await expect(viewer.getByRole("button", { name: "New user" })).toHaveCount(0);
      await expect(viewer.getByRole("table", { name: "Users" })).toHaveCount(0);
      await screenshot(viewer, testInfo, "users-viewer-not-allowed");
    });

    await test.step("forced admin calls from the viewer's page are refused and change nothing", async () => {
      const intruder = uniqueName("mallory");
      const created = await forceMutation(viewer, "user.create", { username: intruder, password: "intruder-pass-1", role: "admin" });
      expect(created.status).toBe(403);
      expect(created.body.error.data.code).toBe("FORBIDDEN");
      expect(created.body.error.data.appCode).toBe("FORBIDDEN");
      const promoted = await forceMutation(viewer, "user.update", { username: viewerName, role: "admin" });
      expect(promoted.status).toBe(403);
      const listed = await forceQuery(viewer, "user.list");
      expect(listed.status).toBe(403);
      // Nothing was written: the admin's list has neither the intruder nor a promoted viewer.
      await page.reload();
      await expect(page.getByTestId(`user-row-${viewerName}`)).toContainText("viewer");
      await expect(page.getByTestId(`user-row-${intruder}`)).toHaveCount(0);
      const mine = await forceQuery(viewer, "auth.me");
      expect(mine.body.result.data.role).toBe("viewer");
    });

    await test.step("the audit log names who did what; filters narrow it", async () => {
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" }).click();
      await expect(page.getByTestId("audit-row").filter({ hasText: "user.create" }).filter({ hasText: viewerName }).first()).toBeVisible();
      await page.getByLabel("User", { exact: true }).fill(viewerName);
      await page.getByRole("button", { name: "Apply" }).click();
      const rows = page.getByTestId("audit-row");
      await expect(rows.first()).toBeVisible();
      await expect(rows.filter({ hasNotText: viewerName })).toHaveCount(0);
      await expect(rows.filter({ hasText: "auth.login" }).first()).toBeVisible();
      await page.getByLabel("Action").fill("user.create");
      await page.getByRole("button", { name: "Apply" }).click();
      // The viewer's refused user.create was stopped before anything ran: no row of a change.
      await expect(page.getByText("No audit entries match this filter")).toBeVisible();
      await expect(rows).toHaveCount(0);
      await page.getByRole("button", { name: "Clear" }).click();
      await expect(rows.filter({ hasText: "admin" }).first()).toBeVisible();
      await screenshot(page, testInfo, "audit");
    });

    await test.step("the viewer signs out; the old session no longer works", async () => {
      const oldCookies = await viewerContext.cookies();
      expect(oldCookies.length).toBeGreaterThan(0);
      await viewer.getByRole("button", { name: "Sign out" }).click();
      await expect(viewer).toHaveURL(/\/login$/);
      // Put the old cookie back, as someone who copied it would: the server refuses it.
      await viewerContext.addCookies(oldCookies);
      const me = await viewer.request.get("/api/trpc/auth.me");
      expect(me.status()).toBe(401);
      await viewer.goto("/audit");
      await expect(viewer).toHaveURL(/\/login$/);
    });

    await viewerContext.close();
  });

  test("API tokens: create shows the secret once, it works as a bearer token, revoke stops it", async ({ page, playwright }, testInfo) => {
    await signIn(page, "admin", ADMIN_PASSWORD);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API tokens" }).click();
    await expect(page.getByRole("heading", { name: "API tokens", level: 1 })).toBeVisible();

    // An empty name is refused next to the field.
    await page.getByRole("button", { name: "Create token" }).click();
    await expect(page.locator('[data-field-error="name"]')).toBeVisible();

    const name = uniqueName("ci-");
    await page.getByLabel("Token name").fill(name);
    await page.getByRole("button", { name: "Create token" }).click();
    const secretBox = page.getByLabel("Token secret");
    await expect(secretBox).toHaveValue(/^nslab_/);
    const secret = await secretBox.inputValue();
    await page.getByRole("button", { name: "Copy" }).click();
    await expect(page.getByRole("button", { name: "Copied ✓" })).toBeVisible();
    await expect(page.getByTestId(`token-row-${name}`)).toBeVisible();
    await screenshot(page, testInfo, "tokens");

    // The secret works as a bearer token without a cookie, and marks the token used.
    const api = await playwright.request.newContext({ baseURL: testInfo.project.use.baseURL });
    const me = await api.get("/api/trpc/auth.me", { headers: { authorization: `Bearer ${secret}` } });
    expect(me.status()).toBe(200);
    expect((await me.json()).result.data.username).toBe("admin");

    // The secret is shown once: after "Done" or a reload it is gone from the page.
    await page.getByRole("button", { name: "Done" }).click();
    await expect(page.getByLabel("Token secret")).toHaveCount(0);
    await page.reload();
    await expect(page.getByTestId(`token-row-${name}`)).not.toContainText("never");
    await expect(page.getByText(secret)).toHaveCount(0);

    await page.getByRole("button", { name: `Revoke ${name}` }).click();
    const dialog = page.getByRole("dialog");
    await expect(dialog).toContainText("Revoke");
    await dialog.getByRole("button", { name: "Revoke token" }).click();
    await expect(page.getByTestId(`token-row-${name}`)).toHaveCount(0);
    const after = await api.get("/api/trpc/auth.me", { headers: { authorization: `Bearer ${secret}` } });
    expect(after.status()).toBe(401);
    await api.dispose();
  });

  test("users: an admin changes a role, password and run-as accounts, and deletes with confirmation", async ({ page, browser }, testInfo) => {
    const name = uniqueName("otto");
    await signIn(page, "admin", ADMIN_PASSWORD);
    await page.goto("/users");
    await page.getByRole("button", { name: "New user" }).click();
    let dialog = page.getByRole("dialog", { name: "New user" });
    await dialog.getByLabel("User name").fill(name);
    await dialog.getByLabel("Password").fill("first-password-1");
    await dialog.getByRole("button", { name: "Create user" }).click();
    await expect(page.getByTestId(`user-row-${name}`)).toContainText("viewer");

    await page.getByRole("button", { name: `Edit ${name}` }).click();
    dialog = page.getByRole("dialog", { name: `Edit ${name}` });
    await dialog.getByLabel("New password").fill("short");
    await dialog.getByRole("button", { name: "Save changes" }).click();
    await expect(dialog.locator('[data-field-error="password"]')).toBeVisible();
    await dialog.getByLabel("Role").selectOption("operator");
    await dialog.getByLabel("New password").fill("second-password-2");
    await dialog.getByLabel(/May run programs as/).fill("nobody, daemon");
    await screenshot(page, testInfo, "users-edit");
    await dialog.getByRole("button", { name: "Save changes" }).click();
    await expect(page.getByRole("dialog")).toHaveCount(0);
    const row = page.getByTestId(`user-row-${name}`);
    await expect(row).toContainText("operator");
    await expect(row).toContainText("nobody, daemon");

    // The new password works.
    const other = await browser.newContext();
    const otherPage = await other.newPage();
    await signIn(otherPage, name, "second-password-2");
    await expect(otherPage.getByTestId("signed-in-user")).toContainText("operator");

    // Delete asks first; cancelling keeps the user, confirming removes it and ends its sessions.
    await page.getByRole("button", { name: `Delete ${name}` }).click();
    dialog = page.getByRole("dialog", { name: `Delete ${name}?` });
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(row).toBeVisible();
    await page.getByRole("button", { name: `Delete ${name}` }).click();
    await page.getByRole("dialog", { name: `Delete ${name}?` }).getByRole("button", { name: "Delete user" }).click();
    await expect(row).toHaveCount(0);
    const me = await otherPage.request.get("/api/trpc/auth.me");
    expect(me.status()).toBe(401);
    await other.close();

    // The last admin cannot be deleted: the failure shows in words.
    await page.getByRole("button", { name: "Delete admin" }).click();
    dialog = page.getByRole("dialog", { name: "Delete admin?" });
    await dialog.getByRole("button", { name: "Delete user" }).click();
    await expect(dialog.getByRole("alert")).toContainText("last admin");
    await dialog.press("Escape");
    await expect(page.getByRole("dialog")).toHaveCount(0);

    // Narrow window: the page still reads.
    await page.setViewportSize({ width: 420, height: 800 });
    await screenshot(page, testInfo, "users-narrow");
  });
});
