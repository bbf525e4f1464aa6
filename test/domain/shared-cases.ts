// Reads the acceptance cases and fixtures kept beside the project in ../shared (read-only).
import { readFileSync } from "node:fs";
import type { RawEvent } from "../../src/domain/index.js";

const SHARED = new URL("../../../shared/", import.meta.url);

export function readShared<T = unknown>(relativePath: string): T {
  return JSON.parse(readFileSync(new URL(relativePath, SHARED), "utf8")) as T;
}

export function readSharedText(relativePath: string): string {
  return readFileSync(new URL(relativePath, SHARED), "utf8");
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
