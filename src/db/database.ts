// Opens PostgreSQL (embedded or DATABASE_URL), applies migrations, and hands out raw
// connections from MikroORM's own pool for the set-based paths.
import { MikroORM } from "@mikro-orm/postgresql";
import { Migrator } from "@mikro-orm/migrations";
import pg from "pg";
import type { Logger } from "../logger.js";
import { entities } from "./entities.js";
import { migrationsList } from "./migrations/index.js";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "./embedded-postgres.js";
import { DatabaseUnavailableError } from "./errors.js";

/** The subset of a node-postgres client the repositories use. */
export type SqlClient = Pick<pg.ClientBase, "query">;

export interface TransactionOptions {
  /** Default: PostgreSQL's own (read committed). */
  isolation?: "read committed" | "repeatable read" | "serializable";
  /** A read-only transaction: PostgreSQL refuses any write in it. */
  readOnly?: boolean;
  /** A parameterless statement sent with BEGIN in one round trip (e.g. taking a lock). */
  prelude?: string;
}

export interface Database {
  orm: MikroORM;
  /** Where the data lives, without the password (for logs). */
  description: string;
  /** Runs fn on one pooled connection. */
  withClient<T>(fn: (client: SqlClient) => Promise<T>): Promise<T>;
  /** Runs fn in a transaction on one pooled connection; rolls back if fn throws. */
  transaction<T>(fn: (client: SqlClient) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Runs fn with a second connection, in a transaction of its own, when the pool can spare one
   * at once: nobody waiting, and another connection still left for the next caller. Otherwise fn
   * gets undefined, and so it does when that connection cannot be opened or the pool is closing.
   * It never waits for a busy pool, so a caller that already holds a connection (a send's
   * transaction) cannot deadlock it; whatever fn does must also work without the spare.
   */
  withSpareTransaction<T>(fn: (client: SqlClient | undefined) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
  /**
   * Cancels the statements running on every connection lent out now (shutdown, once its grace
   * period is over: their calls fail and roll back instead of holding close() open).
   * Returns how many connections were lent out.
   */
  cancelRunning(): Promise<number>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  databaseUrl: string | undefined;
  dataDir: string;
  poolSize: number;
  log: Logger;
}

export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let url = opts.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir: opts.dataDir, log: opts.log });
    url = embedded.url;
  }
  try {
    const db = await connect(url, opts.poolSize, opts.log, embedded);
    await migrate(db.orm, opts.log);
    return db;
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}

async function connect(url: string, poolSize: number, log: Logger, embedded: EmbeddedPostgres | undefined): Promise<Database> {
  const orm = await MikroORM.init({
    clientUrl: url,
    entities,
    extensions: [Migrator],
    discovery: { disableDynamicFileAccess: true, requireEntitiesArray: true },
    migrations: { migrationsList, transactional: true, allOrNothing: true, snapshot: false, silent: true },
    // A fixed-size pool: connections are opened once and reused; no churn under load.
    pool: { min: 0, max: poolSize, acquireTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 },
    driverOptions: {
      connection: { application_name: "leadevents" },
      // knex writes pool warnings with console.* by default; keep every line structured.
      log: {
        warn: (msg: unknown) => log.warn("database pool", { detail: String(msg) }),
        error: (msg: unknown) => log.error("database pool", { detail: String(msg) }),
        deprecate: () => undefined,
        debug: () => undefined,
      },
    },
    allowGlobalContext: false,
    debug: false,
    logger: (msg) => log.debug("mikro-orm", { msg }),
  });
  const knex = orm.em.getConnection().getKnex();
  /** Connections lent out now (see cancelRunning). */
  const inUse = new Set<pg.PoolClient>();
  const lend = async (): Promise<pg.PoolClient> => {
    const client = (await knex.client.acquireConnection()) as pg.PoolClient;
    inUse.add(client);
    return client;
  };
  const giveBack = async (client: pg.PoolClient): Promise<void> => {
    inUse.delete(client);
    await knex.client.releaseConnection(client);
  };
  const withClient = async <T>(fn: (client: SqlClient) => Promise<T>): Promise<T> => {
    let client: pg.PoolClient;
    try {
      client = await lend();
    } catch (err) {
      throw new DatabaseUnavailableError(err);
    }
    try {
      return await fn(client);
    } finally {
      await giveBack(client);
    }
  };
  const transaction = <T>(fn: (client: SqlClient) => Promise<T>, options: TransactionOptions = {}): Promise<T> =>
    withClient(async (client) => {
      await client.query(beginStatement(options));
      return finishTransaction(client, fn, options);
    });
  const pool = (knex.client as { pool?: PoolCounts }).pool;
  let closing = false;
  // Idle connections plus those the pool may still open: at least two, so that taking one as a
  // spare leaves one for the next caller. None once close() has begun: the pool serves nobody
  // new then, and an acquire would wait out its timeout.
  const canSpare = () => !closing && pool !== undefined && pool.numPendingAcquires() === 0 && poolSize - pool.numUsed() - pool.numPendingCreates() >= 2;
  const withSpareTransaction = async <T>(fn: (client: SqlClient | undefined) => Promise<T>, options: TransactionOptions = {}): Promise<T> => {
    if (!canSpare()) return fn(undefined);
    // A spare that cannot be had (PostgreSQL refuses a new connection: max_connections, a
    // database closed to connections) is no reason to fail a call that has its own connection.
    let spare: pg.PoolClient | undefined;
    try {
      spare = await lend();
      await spare.query(beginStatement(options));
    } catch (err) {
      if (spare) await giveBack(spare);
      log.debug("no spare connection", { error: (err as Error).message });
      return fn(undefined);
    }
    try {
      return await finishTransaction(spare, fn, options);
    } finally {
      await giveBack(spare);
    }
  };
  return {
    orm,
    description: embedded ? `embedded PostgreSQL on 127.0.0.1:${embedded.port}` : redactUrl(url),
    withClient,
    transaction,
    withSpareTransaction,
    ping: () => withClient(async (c) => void (await c.query("select 1"))),
    cancelRunning: async () => {
      const pids = [...inUse].map((c) => (c as unknown as { processID?: number }).processID).filter((pid): pid is number => typeof pid === "number");
      if (pids.length === 0) return 0;
      // Its own connection: the pool may have none to lend, and is about to close.
      const admin = new pg.Client({ connectionString: url, application_name: "leadevents-shutdown" });
      try {
        await admin.connect();
        await admin.query("select pg_cancel_backend(pid) from unnest($1::int4[]) as pid", [pids]);
      } catch (err) {
        log.warn("could not cancel running queries", { error: (err as Error).message });
      } finally {
        await admin.end().catch(() => undefined);
      }
      return pids.length;
    },
    close: async () => {
      closing = true;
      await orm.close(true);
      await embedded?.stop();
    },
  };
}

/** What withSpareTransaction reads of knex's pool (tarn). */
interface PoolCounts {
  numUsed(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
}

/**
 * Runs fn in the transaction begun on client, then commits; rolls back if fn throws. A read-only
 * transaction has nothing to commit: a connection that broke after fn (which may have gone on
 * without it, as a spare's user does) does not fail the call.
 */
async function finishTransaction<T>(client: SqlClient, fn: (client: SqlClient) => Promise<T>, options: TransactionOptions): Promise<T> {
  try {
    const result = await fn(client);
    await client.query("commit").catch((err: unknown) => {
      if (!options.readOnly) throw err;
    });
    return result;
  } catch (err) {
    await client.query("rollback").catch(() => undefined);
    throw err;
  }
}

function beginStatement(options: TransactionOptions): string {
  let sql = "begin";
  if (options.isolation) sql += ` isolation level ${options.isolation}`;
  if (options.readOnly) sql += " read only";
  // One round trip for BEGIN and the transaction's first statement (simple protocol).
  if (options.prelude) sql += `; ${options.prelude}`;
  return sql;
}

async function migrate(orm: MikroORM, log: Logger): Promise<void> {
  const applied = await orm.getMigrator().up();
  if (applied.length > 0) log.info("migrations applied", { migrations: applied.map((m) => m.name) });
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "DATABASE_URL";
  }
}
