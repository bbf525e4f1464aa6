// Opaque keyset page tokens (AIP-158): the last row of a page plus a fingerprint of the
// filters, so a token cannot be replayed against a different query.
import { createHash } from "node:crypto";
import { invalidArgument } from "../domain/errors.js";
import type { EpochMicros } from "../domain/types.js";
import { checkEventType } from "../domain/event-type.js";

export interface Cursor { occurredAt: EpochMicros; phoneE164: string; eventType: string }

export function fingerprint(filters: unknown): string {
  return createHash("sha256").update(JSON.stringify(filters)).digest("base64url").slice(0, 16);
}

export function encodePageToken(cursor: Cursor, filterFingerprint: string): string {
  return Buffer.from(JSON.stringify({ v: 1, o: cursor.occurredAt, p: cursor.phoneE164, t: cursor.eventType, f: filterFingerprint })).toString("base64url");
}

export function decodePageToken(token: string, filterFingerprint: string): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw invalidArgument("PAGE_TOKEN_INVALID", "page_token is not a token this service issued");
  }
  const t = parsed as { v?: unknown; o?: unknown; p?: unknown; t?: unknown; f?: unknown };
  if (t?.v !== 1 || !Number.isSafeInteger(t.o) || typeof t.p !== "string" || !/^\+[0-9]{2,17}$/.test(t.p) || typeof t.t !== "string" || !checkEventType(t.t).ok || typeof t.f !== "string") {
    throw invalidArgument("PAGE_TOKEN_INVALID", "page_token is not a token this service issued");
  }
  if (t.f !== filterFingerprint) throw invalidArgument("PAGE_TOKEN_MISMATCH", "page_token was issued for a query with different filters");
  return { occurredAt: t.o as number, phoneE164: t.p, eventType: t.t };
}
