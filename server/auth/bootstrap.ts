import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { Store } from "../store/db";
import { insertUser, listUsers, prepareUser } from "../core/users";
import { writeAudit } from "../core/audit";

export const INITIAL_PASSWORD_FILE = "initial-admin-password";

/**
 * On the first start (no users yet) creates user `admin` with NSLAB_ADMIN_PASSWORD, or
 * with a generated password that is printed once and written to
 * `<data dir>/initial-admin-password` (mode 0600). Does nothing when users exist.
 */
export async function bootstrapAdmin(
  store: Store,
  dataDir: string,
  adminPassword: string | undefined,
  print: (line: string) => void,
): Promise<void> {
  if (listUsers(store).length > 0) return;
  const password = adminPassword ?? randomBytes(18).toString("base64url");
  const row = await prepareUser({ username: "admin", password, role: "admin", runAs: ["root", "nobody"] });
  store.transaction((tx) => {
    if (listUsers(tx).length > 0) return; // another start won the race
    insertUser(tx, row);
    writeAudit(tx, { user: "system", action: "user.create", target: "admin", input: { username: "admin", role: "admin" }, result: "ok" });
  });
  if (adminPassword) {
    print("nslab: created user admin with the password from NSLAB_ADMIN_PASSWORD");
    return;
  }
  const file = path.join(dataDir, INITIAL_PASSWORD_FILE);
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  print(`nslab: created user admin with password ${password}`);
  print(`nslab: (also written to ${file}, mode 0600; change it after signing in)`);
}
