// createApp(config) -> an unstarted server with its database and context; listen() starts it.
import { connectNodeAdapter } from "@connectrpc/connect-node";
import "./rpc/protobuf-text.js"; // protobuf strings keep a leading U+FEFF, as JSON strings do
import type { Config } from "./config.js";
import { createLogger, type Logger } from "./logger.js";
import { openDatabase, type Database } from "./db/database.js";
import { createServiceContext, type ServiceContext } from "./service/context.js";
import { routes } from "./rpc/routes.js";
import { grpcInfrastructureRoutes } from "./rpc/grpc-infrastructure.js";
import { createHttpHandler } from "./server/http-handler.js";
import { createListener } from "./server/listener.js";
import { MAX_BODY_BYTES } from "./server/body.js";
import { createSecretBox, loadServerKey } from "./service/secret-box.js";

/** Per message, for health checking and reflection (their requests are a few bytes). */
const INFRASTRUCTURE_MAX_BYTES = 64 * 1024;

export interface App {
  ctx: ServiceContext;
  db: Database;
  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number>;
  /** Graceful stop: stop accepting, finish in-flight calls, close the pool and database. */
  close(): Promise<void>;
  /** Requests being handled now (headers read, answer not finished). */
  inFlight(): number;
}

export interface AppOverrides {
  log?: Logger;
  ctx?: Partial<ServiceContext>;
}

export async function createApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const log = overrides.log ?? createLogger(config.logLevel, { service: "leadevents" });
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize, log });
  let secrets;
  try {
    secrets = createSecretBox(loadServerKey(config.secretKey, config.dataDir));
  } catch (err) {
    await db.close();
    throw err;
  }
  const ctx = createServiceContext(db, log, secrets, { asyncCommit: config.asyncCommit, ...overrides.ctx });
  let inFlight = 0;
  // Aborted when shutdown starts: ends long-lived streams (health Watch) instead of waiting.
  const shutdown = new AbortController();
  const connect = connectNodeAdapter({
    shutdownSignal: shutdown.signal,
    routes: routes(ctx),
    readMaxBytes: MAX_BODY_BYTES,
    // Zero counts and empty lists are part of the documented responses.
    jsonOptions: { alwaysEmitImplicit: true },
  });
  // Health checking and reflection are open to anyone and their requests are a few bytes: a
  // cap of their own keeps a 10 MB message (which protobuf-es would decode before any handler)
  // out of them. The application's services are registered here too, for reflection to list
  // them; their calls never reach this adapter (see http-handler.ts).
  const infrastructure = connectNodeAdapter({
    shutdownSignal: shutdown.signal,
    routes: (router) => {
      routes(ctx)(router);
      grpcInfrastructureRoutes(ctx)(router);
    },
    readMaxBytes: INFRASTRUCTURE_MAX_BYTES,
    jsonOptions: { alwaysEmitImplicit: true },
  });
  const listener = createListener(
    createHttpHandler({
      svc: ctx,
      connect,
      infrastructure,
      isReady: async () => {
        if (closing) return false; // tell load balancers to move on while we drain
        await db.ping();
        return true;
      },
      onRequestStart: () => void inFlight++,
      onRequestEnd: () => void inFlight--,
    }),
  );
  let closing: Promise<void> | undefined;
  return {
    ctx,
    db,
    listen: async () => {
      const port = await listener.listen(config.port, config.host);
      log.info("listening", { port, database: db.description });
      return port;
    },
    close: () =>
      (closing ??= (async () => {
        shutdown.abort();
        await listener.close(config.shutdownGraceMs, () => inFlight);
        // Calls still running after the grace period (one waiting on a lock, say) are stopped in
        // the database: they roll back, and the pool can close. Their callers were already cut off.
        if (inFlight > 0) log.warn("shutdown: grace period over, cancelling calls still running", { calls: inFlight, connections: await db.cancelRunning() });
        await db.close();
        log.info("stopped");
      })()),
    inFlight: () => inFlight,
  };
}
