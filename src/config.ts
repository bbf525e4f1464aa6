// Environment -> typed Config, checked once at start. Nothing else reads process.env.
import path from "node:path";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

export interface Config {
  /** TCP port for every protocol (0 = any free port). */
  port: number;
  host: string;
  /** A PostgreSQL URL; undefined starts the embedded PostgreSQL under dataDir. */
  databaseUrl: string | undefined;
  /** Local state: the embedded database and the generated server key. */
  dataDir: string;
  logLevel: LogLevel;
  /** Base64 of 32 bytes that encrypts signing secrets at rest; undefined = generated under dataDir. */
  secretKey: string | undefined;
  /** Connections in the database pool. */
  dbPoolSize: number;
  /** How long SIGTERM waits for in-flight calls before closing connections. */
  shutdownGraceMs: number;
  /**
   * Acknowledge sends before their WAL reaches disk (PostgreSQL synchronous_commit=off for the
   * send transaction). Off by default: an "accepted" answer then means durably stored.
   */
  asyncCommit: boolean;
}

export class ConfigError extends Error {}

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

export function readConfig(env: Record<string, string | undefined>, cwd = process.cwd()): Config {
  const port = intSetting(env, "PORT", 8080, 0, 65535);
  const logLevel = (env.LOG_LEVEL ?? "info") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}`);
  }
  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError("DATABASE_URL must start with postgres:// or postgresql://");
  }
  return {
    port,
    host: env.HOST?.trim() || "0.0.0.0",
    databaseUrl,
    dataDir: path.resolve(cwd, env.LEADEVENTS_DATA_DIR?.trim() || ".data"),
    logLevel,
    secretKey: env.LEADEVENTS_SECRET_KEY?.trim() || undefined,
    dbPoolSize: intSetting(env, "DB_POOL_SIZE", 10, 1, 200),
    shutdownGraceMs: intSetting(env, "SHUTDOWN_GRACE_MS", 10_000, 0, 600_000),
    asyncCommit: boolSetting(env, "LEADEVENTS_ASYNC_COMMIT", false),
  };
}

function intSetting(env: Record<string, string | undefined>, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function boolSetting(env: Record<string, string | undefined>, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (["1", "true", "on", "yes"].includes(raw)) return true;
  if (["0", "false", "off", "no"].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(env[name])}`);
}
