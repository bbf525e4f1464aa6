// One PostgreSQL server for the whole run: the embedded one in a throw-away folder, or the
// server DATABASE_URL names. Each test file then creates a database of its own on it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../../src/db/embedded-postgres.js";
import { createLogger } from "../../src/logger.js";

declare module "vitest" {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    databaseKind: string;
  }
}

export default async function setup(project: TestProject) {
  const external = process.env.DATABASE_URL?.trim();
  if (external) {
    project.provide("adminDatabaseUrl", external);
    project.provide("databaseKind", "DATABASE_URL");
    return;
  }
  // Not mkdtemp: its 0700 folder would keep the postgres user out.
  const dir = path.join(os.tmpdir(), `leadevents-test-${randomBytes(4).toString("hex")}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const pg = await startEmbeddedPostgres({ dataDir: dir, database: "postgres", log: createLogger("warn", {}, (l) => process.stderr.write(l + "\n")) });
  project.provide("adminDatabaseUrl", pg.adminUrl);
  project.provide("databaseKind", "embedded");
  return async () => {
    await pg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
