// Starts the embedded PostgreSQL in the folder given as argv[2], prints its URL, then waits
// to be killed (the embedded-postgres test SIGKILLs it to leave an orphaned server behind).
import { startEmbeddedPostgres } from "../../src/db/embedded-postgres.js";
import { createLogger } from "../../src/logger.js";

const pg = await startEmbeddedPostgres({ dataDir: process.argv[2]!, log: createLogger("silent") });
process.stdout.write(JSON.stringify({ url: pg.url }) + "\n");
setInterval(() => {}, 1 << 30);
