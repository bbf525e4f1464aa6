// Structured JSON logs, one line each. Callers pass fields, never secrets or full phones:
// use maskPhone() for a phone.
import { AsyncLocalStorage } from "node:async_hooks";
import fs from "node:fs";
import type { LogLevel } from "./config.js";

/** Fields every log line written while handling one request carries (its request id). */
export const logContext = new AsyncLocalStorage<LogFields>();

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/**
 * Log lines to standard output without blocking: Node writes to a pipe synchronously, so a slow
 * log reader would stall every request. This stream writes from libuv's thread pool, in order.
 */
let stdoutStream: fs.WriteStream | undefined;
function writeStdout(line: string): void {
  stdoutStream ??= fs.createWriteStream("", { fd: 1, autoClose: false, highWaterMark: 1 << 20 });
  stdoutStream.write(line + "\n");
}

/** Resolves once every log line written so far has reached standard output. */
export function flushLogs(): Promise<void> {
  const stream = stdoutStream;
  if (!stream || stream.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => stream.write("", () => resolve()));
}

export function createLogger(level: LogLevel, base: LogFields = {}, write: (line: string) => void = writeStdout): Logger {
  const min = RANK[level];
  const emit = (lvl: Exclude<LogLevel, "silent">, msg: string, fields?: LogFields) => {
    if (RANK[lvl] < min) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...base, ...logContext.getStore(), ...fields }));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}

/** "+14155550132" -> "+1415*****32": enough to correlate, not enough to call. */
export function maskPhone(phone: string): string {
  if (phone.length <= 6) return "*".repeat(phone.length);
  return phone.slice(0, 5) + "*".repeat(phone.length - 7) + phone.slice(-2);
}

/** An error's name and message for logs, without stack noise from user input. */
export function describeError(err: unknown): LogFields {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { error: err.message, errorName: err.name, ...(code !== undefined ? { errorCode: code } : {}), stack: err.stack };
  }
  return { error: String(err) };
}
