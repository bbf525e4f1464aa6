// Which database failures mean "try again later" (the database is down, restarting or
// unreachable) rather than a bug.

const UNAVAILABLE_NODE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "EAI_AGAIN"]);

export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") {
    if (UNAVAILABLE_NODE_CODES.has(code)) return true;
    // SQLSTATE classes: 08 connection exception, 53 insufficient resources,
    // 57P0x operator intervention (shutdown, crash recovery, cannot connect now).
    if (/^(08|53)/.test(code) || /^57P0[1-4]$/.test(code) || code === "40001" || code === "40P01") return true;
  }
  if (err.name === "KnexTimeoutError") return true;
  return /Connection terminated|Client has encountered a connection error|connect ECONNREFUSED|the database system is (starting up|shutting down)|terminating connection/i.test(err.message);
}
