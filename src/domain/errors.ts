// One error vocabulary for refused calls. `reason` is stable and machine-readable
// (AIP-193 style, UPPER_SNAKE_CASE); `message` is for people and never holds secrets.

export type ErrorCode =
  | "invalid_argument"
  | "unauthenticated"
  | "permission_denied"
  | "not_found"
  | "failed_precondition"
  | "resource_exhausted"
  | "unavailable"
  | "unimplemented"
  | "internal";

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const invalidArgument = (reason: string, message: string) => new AppError("invalid_argument", reason, message);
export const unauthenticated = (reason: string, message: string) => new AppError("unauthenticated", reason, message);
export const permissionDenied = (reason: string, message: string) => new AppError("permission_denied", reason, message);
