// The database the benchmark runs against: an embedded PostgreSQL in a fresh temporary folder,
// or a throw-away database on the server BENCH_DATABASE_URL names. Either way, close() removes
// everything it made.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { startEmbeddedPostgres } from "../../src/db/embedded-postgres.js";
import { createLogger } from "../../src/logger.js";
import { note, type BenchConfig } from "./config.js";

export interface BenchEnvironment {
  /** The benchmark's own database (the server's DATABASE_URL). */
  databaseUrl: string;
  /** A database on the same server where databases may be created (for filter-audience.bench.ts). */
  adminUrl: string;
  kind: "embedded" | "BENCH_DATABASE_URL";
  /** The embedded PostgreSQL's data folder (for its CPU time); undefined with BENCH_DATABASE_URL. */
  pgData: string | undefined;
  /** A temporary folder for this run (server data dir, profiles); removed by close(). */
  tmpDir: string;
  close(): Promise<void>;
}

export async function startEnvironment(cfg: BenchConfig): Promise<BenchEnvironment> {
  // Not mkdtemp: its 0700 folder would keep the postgres user (embedded PostgreSQL as root) out.
  const tmpDir = path.join(cfg.tmpRoot, `leadevents-bench-${randomBytes(4).toString("hex")}`);
  fs.mkdirSync(tmpDir, { recursive: true, mode: 0o755 });
  fs.chmodSync(tmpDir, 0o755);
  const removeTmp = () => fs.rmSync(tmpDir, { recursive: true, force: true });

  if (cfg.databaseUrl) {
    const name = `leadevents_bench_${randomBytes(4).toString("hex")}`;
    const admin = cfg.databaseUrl;
    await withClient(admin, (c) => c.query(`create database ${name}`));
    const u = new URL(admin);
    u.pathname = `/${name}`;
    note(`database ${name} created on BENCH_DATABASE_URL`);
    return {
      databaseUrl: u.toString(),
      adminUrl: admin,
      kind: "BENCH_DATABASE_URL",
      pgData: undefined,
      tmpDir,
      close: async () => {
        try {
          await withClient(admin, async (c) => {
            await c.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()", [name]);
            await c.query(`drop database if exists ${name}`);
          });
        } finally {
          removeTmp();
        }
      },
    };
  }

  const pgDir = path.join(tmpDir, "postgres");
  fs.mkdirSync(pgDir, { mode: 0o755 });
  let embedded;
  try {
    embedded = await startEmbeddedPostgres({
      dataDir: pgDir,
      database: "leadevents_bench",
      log: createLogger("warn", { service: "bench-postgres" }, (l) => process.stderr.write(l + "\n")),
    });
  } catch (err) {
    removeTmp();
    throw err;
  }
  note(`embedded PostgreSQL on port ${embedded.port} (${pgDir})`);
  return {
    databaseUrl: embedded.url,
    adminUrl: embedded.adminUrl,
    kind: "embedded",
    // startEmbeddedPostgres keeps its cluster in <dataDir>/pg.
    pgData: path.join(pgDir, "pg"),
    tmpDir,
    close: async () => {
      try {
        await embedded.stop();
      } finally {
        removeTmp();
      }
    },
  };
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: "leadevents-bench" });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A long-lived connection of the benchmark itself (references, loading, checks). */
export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: "leadevents-bench" });
  await client.connect();
  return client;
}
