// Entry point: read config, start, stop gracefully on SIGTERM/SIGINT.
import { ConfigError, readConfig } from "./config.js";
import { createApp } from "./app.js";
import { flushLogs } from "./logger.js";

async function main(): Promise<void> {
  let config;
  try {
    config = readConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const app = await createApp(config);
  try {
    await app.listen();
  } catch (err) {
    await app.close();
    throw err;
  }
  const stop = (signal: string) => {
    app.ctx.log.info("shutting down", { signal });
    app.close().then(
      () => flushLogs().then(() => process.exit(0)),
      (err) => {
        app.ctx.log.error("shutdown failed", { error: String(err) });
        void flushLogs().then(() => process.exit(1));
      },
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

main().catch((err) => {
  process.stderr.write(`leadevents failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
