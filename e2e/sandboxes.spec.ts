import fs from "node:fs";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { ADMIN_PASSWORD, api, forceMutation, screenshot, signIn, uniqueName } from "./helpers";
import { fetchFrom, kernelAddresses, netnsNames, run, world } from "./lab";

/** Ensures a user exists (created by the admin page's session). */
async function ensureUser(admin: Page, username: string, role: string, runAs: string[] = []) {
  const out = await forceMutation(admin, "user.create", { username, password: `${username}-password`, role, runAs });
  if (out.status !== 200 && out.body?.error?.data?.appCode !== "NAME_TAKEN") throw new Error(JSON.stringify(out.body));
}

test.describe("sandboxes", () => {
  test("create in the dialog: it appears in the table and on the graph with the kernel's address; bad input stays by its field", async ({ page }, testInfo) => {
    const name = uniqueName("web-");
    await signIn(page, "admin", ADMIN_PASSWORD);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Sandboxes" }).click();
    await expect(page.getByRole("heading", { name: "Sandboxes", level: 1 })).toBeVisible();
    const before = await netnsNames();

    await page.getByRole("button", { name: "New sandbox" }).click();
    const dialog = page.getByRole("dialog", { name: "New sandbox" });
    // A bad name: the error is next to the name field and nothing is created.
    await dialog.getByLabel("Name").fill("Bad Name");
    await dialog.getByRole("button", { name: "Create sandbox" }).click();
    await expect(dialog.locator('[data-field-error="name"]')).toBeVisible();
    await expect(dialog.getByLabel("Name")).toHaveAttribute("aria-invalid", "true");
    await screenshot(page, testInfo, "sandbox-create-bad-name");
    // An overlapping subnet (the lab's uplink network): the error is next to the subnet.
    await dialog.getByLabel("Name").fill(name);
    await dialog.getByLabel("Subnet").fill("203.0.113.0/30");
    await dialog.getByRole("button", { name: "Create sandbox" }).click();
    await expect(dialog.locator('[data-field-error="subnet"]')).toBeVisible();
    await expect(dialog.locator('[data-field-error="name"]')).toHaveCount(0);
    await screenshot(page, testInfo, "sandbox-create-overlap");
    expect(await netnsNames()).toEqual(before);
    await expect(page.getByTestId(`sandbox-row-${name}`)).toHaveCount(0);

    // Now a good one, with the pool's next subnet.
    await dialog.getByLabel("Subnet").fill("");
    await expect(dialog.getByLabel("Egress interface")).toContainText("eth0");
    await dialog.getByRole("button", { name: "Create sandbox" }).click();
    await expect(page.getByRole("dialog")).toHaveCount(0);
    const row = page.getByTestId(`sandbox-row-${name}`);
    await expect(row).toBeVisible();
    await expect(row).toContainText("nat");
    await expect(row).toContainText("admin");
    await expect(row).toContainText("ok");
    const shown = (await row.getByTestId("sandbox-address").locator("span").first().textContent())!.trim();
    expect(shown).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(await kernelAddresses(name)).toContain(shown);
    await screenshot(page, testInfo, "sandboxes");

    // On the graph, with its address.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Topology" }).click();
    const node = page.getByTestId(`topo-sandbox-${name}`);
    await expect(node).toBeVisible();
    await expect(node).toContainText(shown);
    await expect(page.getByTestId("topo-uplink-eth0")).toBeVisible();
    await expect(page.getByTestId("topo-foreign-world")).toContainText("not managed");

    // The sandbox page shows the same address and the default policy prominently.
    await node.click();
    await expect(page).toHaveURL(new RegExp(`/sandboxes/${name}$`));
    await expect(page.getByTestId("detail-address")).toHaveText(shown);
    await expect(page.getByTestId("policy-egress")).toContainText("no rule matched → accept");
    await expect(page.getByTestId("policy-ingress")).toContainText("no rule matched → drop");

    // Delete asks first; then the namespace is gone.
    await page.getByRole("button", { name: "Delete sandbox" }).click();
    await page.getByRole("dialog", { name: `Delete ${name}?` }).getByRole("button", { name: "Delete sandbox" }).click();
    await expect(page).toHaveURL(/\/sandboxes$/);
    await expect(page.getByTestId(`sandbox-row-${name}`)).toHaveCount(0);
    expect(await netnsNames()).not.toContain(name);
  });

  test("an egress drop rule blocks the outside and its counter rises live; deleting it lets traffic through", async ({ page }, testInfo) => {
    const name = uniqueName("fw-");
    await signIn(page, "admin", ADMIN_PASSWORD);
    await api(page, "sandbox.create", { name });
    expect((await fetchFrom(name)).exitCode).toBe(0);

    await page.goto(`/sandboxes/${name}`);
    const form = page.getByRole("form", { name: "Add a rule" });
    await form.getByLabel("Direction").selectOption("egress");
    await form.getByLabel("Action").selectOption("drop");
    await form.getByLabel("Protocol").selectOption("tcp");
    await form.getByLabel("Ports").fill("8080");
    await form.getByLabel("Comment").fill("no web");
    await form.getByRole("button", { name: "Add rule" }).click();
    const rule = page.getByTestId("rule-row").filter({ hasText: "no web" });
    await expect(rule).toBeVisible();
    await expect(rule.getByTestId("rule-packets")).toHaveText("0");

    const blocked = await fetchFrom(name);
    expect(blocked.exitCode).not.toBe(0);
    // The counter rises without a reload (the rule list is polled live).
    await expect(rule.getByTestId("rule-packets")).not.toHaveText("0");
    await screenshot(page, testInfo, "sandbox-rules", { fullPage: true });
    // It reads at 1280 px: nothing sticks out sideways.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);

    // Bad input stays next to its field.
    await form.getByLabel("Protocol").selectOption("icmp");
    await form.getByLabel("Ports").fill("80");
    await form.getByRole("button", { name: "Add rule" }).click();
    await expect(form.locator('[data-field-error="ports"]')).toBeVisible();

    await rule.getByRole("button", { name: /Delete rule/ }).click();
    await page.getByRole("dialog", { name: "Delete this rule?" }).getByRole("button", { name: "Delete rule" }).click();
    await expect(page.getByTestId("rule-row")).toHaveCount(0);
    const open = await fetchFrom(name);
    expect(open.exitCode).toBe(0);
    expect(open.stdout.trim()).toBe(world.uplinkAddr); // NAT: the world sees the uplink's address
    await api(page, "sandbox.delete", { name });
  });

  test("rules: reorder with up/down, and an edit made on a stale list reports the conflict", async ({ page, browser }) => {
    const name = uniqueName("ord-");
    await signIn(page, "admin", ADMIN_PASSWORD);
    await api(page, "sandbox.create", { name });
    await api(page, "rule.add", { sandbox: name, direction: "egress", action: "accept", protocol: "tcp", ports: "443", comment: "first" });
    await api(page, "rule.add", { sandbox: name, direction: "egress", action: "drop", protocol: "udp", comment: "second" });
    await page.goto(`/sandboxes/${name}`);
    const rows = page.getByTestId("rule-row");
    await expect(rows).toHaveCount(2);
    await expect(rows.nth(0)).toContainText("first");
    await page.getByRole("button", { name: "Move rule 2 up" }).click();
    await expect(rows.nth(0)).toContainText("second");
    await expect(rows.nth(1)).toContainText("first");

    // Open the editor, then someone else changes the rules: saving reports the conflict.
    await page.getByRole("button", { name: "Edit rule 1" }).click();
    const dialog = page.getByRole("dialog", { name: "Edit rule 1" });
    await dialog.getByLabel("Comment").fill("edited here");
    await api(page, "rule.add", { sandbox: name, direction: "ingress", action: "accept", protocol: "icmp", comment: "by someone else" });
    await dialog.getByRole("button", { name: "Save rule" }).click();
    await expect(dialog.getByTestId("rule-conflict")).toBeVisible();
    await dialog.getByRole("button", { name: "Close", exact: true }).click();
    await expect(rows).toHaveCount(3);
    await expect(page.getByTestId("rule-row").filter({ hasText: "edited here" })).toHaveCount(0);
    // On a fresh list the edit goes through.
    await page.getByRole("button", { name: "Edit rule 1" }).click();
    await page.getByRole("dialog", { name: "Edit rule 1" }).getByLabel("Comment").fill("edited here");
    await page.getByRole("dialog", { name: "Edit rule 1" }).getByRole("button", { name: "Save rule" }).click();
    await expect(rows.nth(0)).toContainText("edited here");

    // The sandboxes table counts the rules (read from the store), and follows a change made elsewhere.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Sandboxes" }).click();
    await page.getByRole("searchbox").fill(name);
    const count = page.getByTestId(`sandbox-row-${name}`).getByTestId("sandbox-rules");
    await expect(count).toHaveText("3");
    await api(page, "rule.add", { sandbox: name, direction: "ingress", action: "drop", protocol: "udp", comment: "one more" });
    await expect(count).toHaveText("4");
    await api(page, "sandbox.delete", { name });
  });

  test("a program as nobody behind a published port: fetched from the outside world, its access line in the live log; stop it", async ({ page }, testInfo) => {
    const name = uniqueName("py-");
    await signIn(page, "admin", ADMIN_PASSWORD);
    await api(page, "sandbox.create", { name });
    await page.goto(`/sandboxes/${name}`);

    const start = page.getByRole("form", { name: "Start a program" });
    await start.getByLabel("Command").fill("/usr/bin/python3 -m http.server 8000 --bind 0.0.0.0");
    await start.getByLabel("Run as").fill("nobody");
    await start.getByLabel("Working directory").fill("/tmp");
    await start.getByRole("button", { name: "Start program" }).click();
    const row = page.locator('[data-testid^="program-row-"]').first();
    await expect(row).toHaveAttribute("data-state", "running");
    await expect(row).toContainText("nobody");
    await expect(page.getByTestId("log-live")).toBeVisible();

    const publish = page.getByRole("form", { name: "Publish a port" });
    await publish.getByLabel("Host port").fill("8081");
    await publish.getByLabel("Sandbox port").fill("8000");
    await publish.getByRole("button", { name: "Publish" }).click();
    await expect(page.getByTestId("port-row-8081")).toBeVisible();

    // From the simulated outside world, through the uplink's address.
    let body = "";
    await expect
      .poll(async () => {
        const r = await run(["ip", "netns", "exec", world.netns, "curl", "-sS", "--max-time", "2", `http://${world.uplinkAddr}:8081/`], 10_000);
        body = r.stdout;
        return r.exitCode;
      })
      .toBe(0);
    expect(body).toContain("Directory listing");
    // The access line arrives in the live log without reload.
    await expect(page.getByTestId("program-log")).toContainText("GET / HTTP/1.1");
    await screenshot(page, testInfo, "sandbox-programs", { fullPage: true });

    // The graph shows the published port on the sandbox's node.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Topology" }).click();
    const node = page.getByTestId(`topo-sandbox-${name}`);
    await expect(node.getByTestId("topo-ports")).toContainText("tcp 8081→8000");
    // The table counts the running program.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Sandboxes" }).click();
    await page.getByRole("searchbox").fill(name);
    const tableRow = page.getByTestId(`sandbox-row-${name}`);
    await expect(tableRow.getByTestId("sandbox-running")).toHaveText("1");
    await expect(tableRow.getByTestId("sandbox-rules")).toHaveText("0");

    await page.getByRole("link", { name, exact: true }).click();
    await expect(row).toHaveAttribute("data-state", "running");
    await row.getByRole("button", { name: /^Stop / }).click();
    await expect(row).toHaveAttribute("data-state", "exited");
    // Stopped: the table follows.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Sandboxes" }).click();
    await page.getByRole("searchbox").fill(name);
    await expect(page.getByTestId(`sandbox-row-${name}`).getByTestId("sandbox-running")).toHaveText("0");
    await api(page, "sandbox.delete", { name });
  });

  test("admin, operator and viewer: live across browsers, controls only where allowed, forced calls refused", async ({ page, browser }, testInfo) => {
    const operatorName = uniqueName("olga");
    const viewerName = uniqueName("vic");
    const adminBox = uniqueName("adm-");
    const opBox = uniqueName("op-");
    await signIn(page, "admin", ADMIN_PASSWORD);
    await ensureUser(page, operatorName, "operator", ["nobody"]);
    await ensureUser(page, viewerName, "viewer");

    const opContext = await browser.newContext();
    const op = await opContext.newPage();
    await signIn(op, operatorName, `${operatorName}-password`);
    await expect(op.getByTestId("topology")).toBeVisible();

    // Admin creates in the UI; the operator's graph shows it without reload.
    await page.goto("/");
    await page.getByRole("button", { name: "New sandbox" }).click();
    await page.getByRole("dialog", { name: "New sandbox" }).getByLabel("Name").fill(adminBox);
    await page.getByRole("dialog", { name: "New sandbox" }).getByRole("button", { name: "Create sandbox" }).click();
    await expect(page.getByTestId(`topo-sandbox-${adminBox}`)).toBeVisible();
    await expect(op.getByTestId(`topo-sandbox-${adminBox}`)).toBeVisible();

    // The operator creates one; the admin's graph shows it without reload.
    await op.getByRole("button", { name: "New sandbox" }).click();
    await op.getByRole("dialog", { name: "New sandbox" }).getByLabel("Name").fill(opBox);
    await op.getByRole("dialog", { name: "New sandbox" }).getByRole("button", { name: "Create sandbox" }).click();
    await expect(op.getByTestId(`topo-sandbox-${opBox}`)).toBeVisible();
    await expect(page.getByTestId(`topo-sandbox-${opBox}`)).toBeVisible();

    // The operator manages its own sandbox only.
    await op.goto("/sandboxes");
    await expect(op.getByRole("button", { name: `Delete ${opBox}` })).toBeVisible();
    await expect(op.getByRole("button", { name: `Delete ${adminBox}` })).toHaveCount(0);
    await op.goto(`/sandboxes/${adminBox}`);
    await expect(op.getByTestId("read-only-note")).toBeVisible();
    await expect(op.getByRole("form", { name: "Add a rule" })).toHaveCount(0);
    await expect(op.getByRole("button", { name: "Delete sandbox" })).toHaveCount(0);
    const opForced = await forceMutation(op, "sandbox.delete", { name: adminBox });
    expect(opForced.status).toBe(403);
    await op.goto(`/sandboxes/${opBox}`);
    await expect(op.getByRole("form", { name: "Add a rule" })).toBeVisible();
    await expect(op.getByRole("form", { name: "Start a program" })).toBeVisible();

    // The viewer sees everything but no control that changes anything.
    const viewerContext = await browser.newContext();
    const viewer = await viewerContext.newPage();
    await signIn(viewer, viewerName, `${viewerName}-password`);
    await expect(viewer.getByTestId(`topo-sandbox-${opBox}`)).toBeVisible();
    await expect(viewer.getByRole("button", { name: "New sandbox" })).toHaveCount(0);
    await expect(viewer.getByRole("button", { name: /^Adopt / })).toHaveCount(0);
    await viewer.goto("/sandboxes");
    await expect(viewer.getByTestId(`sandbox-row-${opBox}`)).toBeVisible();
    await expect(viewer.getByRole("button", { name: /^Delete / })).toHaveCount(0);
    await expect(viewer.getByRole("button", { name: "Create many…" })).toHaveCount(0);
    await viewer.goto(`/sandboxes/${opBox}`);
    await expect(viewer.getByTestId("policy-egress")).toBeVisible();
    await expect(viewer.getByRole("form", { name: "Add a rule" })).toHaveCount(0);
    await expect(viewer.getByRole("form", { name: "Publish a port" })).toHaveCount(0);
    await expect(viewer.getByRole("form", { name: "Start a program" })).toHaveCount(0);
    await expect(viewer.getByRole("button", { name: "Delete sandbox" })).toHaveCount(0);
    await expect(viewer.getByRole("combobox", { name: /Default for/ })).toHaveCount(0);
    await screenshot(viewer, testInfo, "sandbox-viewer", { fullPage: true });
    const forced = await forceMutation(viewer, "sandbox.create", { name: uniqueName("nope-") });
    expect(forced.status).toBe(403);
    expect(forced.body.error.data.code).toBe("FORBIDDEN");
    const forcedDelete = await forceMutation(viewer, "sandbox.delete", { name: opBox });
    expect(forcedDelete.status).toBe(403);
    expect(await netnsNames()).toContain(opBox);

    // A delete by the operator disappears from the other graphs without reload.
    await page.goto("/");
    await expect(page.getByTestId(`topo-sandbox-${opBox}`)).toBeVisible();
    await api(op, "sandbox.delete", { name: opBox });
    await expect(page.getByTestId(`topo-sandbox-${opBox}`)).toHaveCount(0);
    await api(page, "sandbox.delete", { name: adminBox });
    await viewerContext.close();
    await opContext.close();
  });

  test("bulk create from a pattern with progress, then the graph and host page; screenshots", async ({ page }, testInfo) => {
    const prefix = uniqueName("lab") + "-";
    await signIn(page, "admin", ADMIN_PASSWORD);
    await page.goto("/sandboxes");
    await page.getByRole("button", { name: "Create many…" }).click();
    const dialog = page.getByRole("dialog", { name: "Create many sandboxes" });
    await dialog.getByLabel("Names").fill(`${prefix}1..8`);
    await expect(dialog).toContainText(`8 sandboxes: ${prefix}1 … ${prefix}8`);
    await dialog.getByRole("button", { name: "Create 8 sandboxes" }).click();
    await expect(page.getByRole("dialog")).toHaveCount(0, { timeout: 60_000 });
    for (const k of [1, 5, 8]) await expect(page.getByTestId(`sandbox-row-${prefix}${k}`)).toBeVisible();
    const names = await netnsNames();
    for (let k = 1; k <= 8; k++) expect(names).toContain(`${prefix}${k}`);
    await screenshot(page, testInfo, "sandboxes-many", { fullPage: true });

    // Graph: find by name and by address, click opens the sandbox.
    await page.goto("/");
    await expect(page.getByTestId(`topo-sandbox-${prefix}8`)).toBeVisible();
    await page.waitForTimeout(2500); // two samples of the counters, so rates show
    await screenshot(page, testInfo, "topology");
    const shots = process.env.NSLAB_E2E_SCREENSHOTS ?? path.resolve("artifacts/screenshots");
    // The README's screenshot is refreshed on request only, so test runs leave the tree clean.
    if (process.env.NSLAB_E2E_UPDATE_DOCS === "1") {
      fs.mkdirSync(path.resolve("docs/screenshots"), { recursive: true });
      fs.copyFileSync(path.join(shots, "topology.png"), path.resolve("docs/screenshots/topology.png"));
    }
    const find = page.getByLabel("Find a sandbox by name or address");
    await find.fill(`${prefix}7`);
    await expect(page.getByTestId("find-count")).toContainText("1 found");
    const address = (await kernelAddresses(`${prefix}7`))[0]!;
    await find.fill(address);
    await expect(page.getByTestId("find-count")).toContainText("1 found");
    await find.press("Enter");
    // Keyboard: a focused node opens with Enter; a click does the same.
    await page.locator(`.react-flow__node[data-id="sandbox:${prefix}7"]`).focus();
    await page.keyboard.press("Enter");
    await expect(page).toHaveURL(new RegExp(`/sandboxes/${prefix}7$`));
    await page.goBack();
    await page.getByTestId(`topo-sandbox-${prefix}5`).click();
    await expect(page).toHaveURL(new RegExp(`/sandboxes/${prefix}5$`));

    await page.setViewportSize({ width: 420, height: 800 });
    await page.goto("/");
    await expect(page.getByTestId(`topo-sandbox-${prefix}1`)).toBeAttached();
    await screenshot(page, testInfo, "topology-narrow");
    await page.goto(`/sandboxes/${prefix}3`);
    await expect(page.getByTestId("policy-egress")).toBeVisible();
    await screenshot(page, testInfo, "sandbox-narrow", { fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });

    // Host page: uplinks, forwarding, backend; reconcile now shows its result.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Host" }).click();
    await expect(page.getByRole("table", { name: "Uplinks" })).toContainText("eth0");
    await expect(page.getByTestId("ip-forward")).toContainText("on");
    await page.getByRole("button", { name: "Reconcile now" }).click();
    await expect(page.getByTestId("reconcile-result")).toBeVisible();
    await screenshot(page, testInfo, "host");

    await api(page, "sandbox.deleteMany", { names: Array.from({ length: 8 }, (_, k) => `${prefix}${k + 1}`) });
  });
});
