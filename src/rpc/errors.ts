// Domain and database failures -> ConnectError. Internals are logged, never sent.
import { Code, ConnectError } from "@connectrpc/connect";
import { AppError, type ErrorCode } from "../domain/errors.js";
import { isDatabaseUnavailable } from "../db/errors.js";
import { describeError, type Logger } from "../logger.js";

const CODES: Record<ErrorCode, Code> = {
  invalid_argument: Code.InvalidArgument,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  not_found: Code.NotFound,
  failed_precondition: Code.FailedPrecondition,
  resource_exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  unimplemented: Code.Unimplemented,
  internal: Code.Internal,
};

/** Any thrown value -> the AppError a caller may see. */
export function toAppError(err: unknown, log: Logger): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof ConnectError) return new AppError(codeName(err.code), "REQUEST_INVALID", err.rawMessage);
  if (isDatabaseUnavailable(err)) {
    log.warn("database unavailable", describeError(err));
    return new AppError("unavailable", "DATABASE_UNAVAILABLE", "the database is unavailable; nothing was stored, retry later");
  }
  log.error("internal error", describeError(err));
  return new AppError("internal", "INTERNAL", "internal error");
}

export function toConnectError(err: unknown, log: Logger): ConnectError {
  if (err instanceof ConnectError) return err;
  const app = toAppError(err, log);
  return new ConnectError(app.message, CODES[app.code]);
}

function codeName(code: Code): ErrorCode {
  for (const [name, value] of Object.entries(CODES)) if (value === code) return name as ErrorCode;
  return "internal";
}

/** HTTP status of each code for the REST route (413, not Connect's 429, for size caps). */
export const REST_STATUS: Record<ErrorCode, number> = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  failed_precondition: 412,
  resource_exhausted: 413,
  unavailable: 503,
  unimplemented: 501,
  internal: 500,
};

/** HTTP status of each code in the Connect protocol (connectrpc.com/docs/protocol). */
export const CONNECT_STATUS: Record<ErrorCode, number> = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  failed_precondition: 400,
  resource_exhausted: 429,
  unavailable: 503,
  unimplemented: 501,
  internal: 500,
};
