// Which database failures mean "try again later" (the database is down, restarting or
// unreachable) rather than a bug.

const UNAVAILABLE_NODE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "EAI_AGAIN"]);

/** Thrown when no connection could be had from the pool, whatever the cause. */
export class DatabaseUnavailableError extends Error {
  constructor(readonly cause: unknown) {
    super(`cannot get a database connection: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "DatabaseUnavailableError";
  }
}

export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof DatabaseUnavailableError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") {
    if (UNAVAILABLE_NODE_CODES.has(code)) return true;
    // SQLSTATE: 08 connection exception, 53 insufficient resources, 28 authorization (at
    // connect), 3D000 database missing, 55000 database not accepting connections, 57P0x
    // operator intervention (shutdown, crash recovery); 40001/40P01 retryable conflicts.
    if (/^(08|53|28)/.test(code) || /^57P0[1-4]$/.test(code) || ["3D000", "55000", "40001", "40P01"].includes(code)) return true;
  }
  if (err.name === "KnexTimeoutError") return true;
  return /Connection terminated|Client has encountered a connection error|connect ECONNREFUSED|the database system is (starting up|shutting down)|terminating connection/i.test(err.message);
}
