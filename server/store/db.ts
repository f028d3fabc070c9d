import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { drizzle, type BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import * as schema from "./schema";

export type Store = BetterSQLite3Database<typeof schema> & { $client: Database.Database };
/** The transaction handle drizzle passes to `store.transaction(tx => ...)`. */
export type Tx = Parameters<Parameters<Store["transaction"]>[0]>[0];
/** Either the store or an open transaction: services accept both. */
export type Db = Store | Tx;

/** Where the SQL migrations live (kept beside the schema, read at run time). */
export const MIGRATIONS_DIR = path.join(process.cwd(), "server", "store", "migrations");

/**
 * Opens (creating if needed) the SQLite store in `dataDir` and applies pending
 * migrations. WAL lets readers go on while one writer commits.
 */
export function openStore(dataDir: string): Store {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const sqlite = new Database(path.join(dataDir, "nslab.sqlite"));
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  const db = drizzle(sqlite, { schema }) as Store;
  migrate(db, { migrationsFolder: MIGRATIONS_DIR });
  return db;
}
