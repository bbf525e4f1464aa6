// Reads the acceptance cases and fixtures kept beside the project in ../shared (read-only).
// Without that folder (a user's clone) the tests that need it report themselves skipped.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "vitest";
import type { RawEvent } from "../../src/domain/index.js";
import { HAS_SHARED, SHARED_DIR } from "../support/shared.js";

/** `it`, skipped when ../shared is absent. */
export const itWithShared = it.skipIf(!HAS_SHARED);
/** `describe`, skipped when ../shared is absent. */
export const describeWithShared = describe.skipIf(!HAS_SHARED);

export function readShared<T = unknown>(relativePath: string): T {
  return JSON.parse(readFileSync(path.join(SHARED_DIR, relativePath), "utf8")) as T;
}

export function readSharedText(relativePath: string): string {
  return readFileSync(path.join(SHARED_DIR, relativePath), "utf8");
}

export interface CaseRequest {
  eventType?: string;
  events: RawEvent[];
}

export interface Case {
  name: string;
  org: { defaultRegion?: string };
  calls: { request: CaseRequest | "same"; expect: Record<string, unknown> }[];
  stored?: { phoneE164: string; eventType: string; occurredAt: string }[];
}

export function readCase(name: string): Case {
  return readShared<Case>(`cases/${name}.json`);
}

/** The first call's request of a case. */
export function firstRequest(c: Case): CaseRequest {
  const r = c.calls[0]!.request;
  if (r === "same") throw new Error("first call cannot be 'same'");
  return r;
}
