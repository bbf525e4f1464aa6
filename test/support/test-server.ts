// A real server on a loopback port with a fresh database of its own, per test file.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { createApp, type App } from "../../src/app.js";
import type { Config } from "../../src/config.js";
import { createLogger, type Logger } from "../../src/logger.js";
import type { ServiceContext } from "../../src/service/context.js";
import { createApiKey } from "../../src/service/api-keys.js";
import type { ApiKeyScope } from "../../src/domain/api-key.js";
import type { OrganizationPatch } from "../../src/db/organization-repository.js";

export interface TestOrg {
  id: number;
  /** A key with every scope. */
  apiKey: string;
}

export interface TestServer {
  app: App;
  port: number;
  baseUrl: string;
  databaseUrl: string;
  databaseName: string;
  ctx: ServiceContext;
  /** Log lines the server wrote (JSON strings). */
  logs: string[];
  createOrg(patch?: OrganizationPatch & { name?: string; defaultRegion?: string | null }): Promise<TestOrg>;
  createKey(orgId: number, scopes: ApiKeyScope[]): Promise<string>;
  close(): Promise<void>;
}

export function adminUrl(): string {
  return inject("adminDatabaseUrl");
}

export function databaseUrl(name: string): string {
  const u = new URL(adminUrl());
  u.pathname = `/${name}`;
  return u.toString();
}

export async function withAdminClient<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createDatabase(): Promise<string> {
  const name = `leadevents_test_${randomBytes(6).toString("hex")}`;
  await withAdminClient((c) => c.query(`create database ${name}`));
  return name;
}

export async function dropDatabase(name: string): Promise<void> {
  await withAdminClient(async (c) => {
    await c.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()", [name]);
    await c.query(`drop database if exists ${name}`);
  });
}

export async function startTestServer(options: { config?: Partial<Config>; ctx?: Partial<ServiceContext> } = {}): Promise<TestServer> {
  const databaseName = await createDatabase();
  const logs: string[] = [];
  const log: Logger = createLogger("debug", { service: "leadevents" }, (line) => {
    logs.push(line);
    if (process.env.TEST_LOGS) process.stderr.write(line + "\n");
  });
  const url = databaseUrl(databaseName);
  const config: Config = {
    port: 0,
    host: "127.0.0.1",
    databaseUrl: url,
    dataDir: "/nonexistent",
    logLevel: "debug",
    secretKey: randomBytes(32).toString("base64"),
    dbPoolSize: 10,
    shutdownGraceMs: 5_000,
    asyncCommit: false,
    ...options.config,
  };
  const app = await createApp(config, { log, ctx: options.ctx });
  const port = await app.listen();
  const ctx = app.ctx;
  const createKey = async (orgId: number, scopes: ApiKeyScope[]) => (await createApiKey(ctx, orgId, "test", scopes)).secret;
  return {
    app,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    databaseUrl: url,
    databaseName,
    ctx,
    logs,
    createOrg: async (patch = {}) => {
      const org = await ctx.organizations.create(patch.name ?? "Test org", patch.defaultRegion ?? undefined);
      const { name: _n, defaultRegion: _d, ...rest } = patch;
      if (Object.keys(rest).length > 0) await ctx.organizations.update(org.id, rest);
      return { id: org.id, apiKey: await createKey(org.id, ["ingest", "read", "admin"]) };
    },
    createKey,
    close: async () => {
      await app.close();
      await dropDatabase(databaseName);
    },
  };
}

/** POST JSON and return status and parsed body. */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" || body instanceof Uint8Array ? (body as string) : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
