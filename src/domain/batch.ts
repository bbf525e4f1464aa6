// A whole SendLeadEvents call, before the database: validate every row, count and report the
// rejects, drop repeats within the call, and order the rows for writing.

import { checkEventType } from "./event-type.js";
import type { RawEvent, RowReject, ValidRow } from "./types.js";
import { validateEvent, type ValidationContext } from "./validate-event.js";

/** More events than this in one call refuses the whole call (the transport maps it to 413 / RESOURCE_EXHAUSTED). */
export const MAX_EVENTS_PER_CALL = 50_000;

/** How many rejects a response lists; `rejected` still counts them all. */
export const MAX_REPORTED_REJECTS = 50;

export interface BatchPlan {
  /** events.length */
  received: number;
  /** Valid rows, first occurrence per key, sorted by (phoneE164, eventType, occurredAt). */
  rows: ValidRow[];
  /** Every rejected row. */
  rejected: number;
  /** The first MAX_REPORTED_REJECTS rejects, in input order. */
  rejects: RowReject[];
  /** Valid rows dropped because an earlier row of the same call had the same key. */
  inCallDuplicates: number;
  /** Each of those rows: its index, and the index of the earlier row it repeats (in input order). */
  repeats: Array<{ index: number; firstIndex: number }>;
}

/**
 * Checks a batch-level eventType. Absent (undefined, null, or proto3's "") is fine: each event
 * may carry its own; an event with neither is then rejected on its own.
 */
export function checkBatchEventType(raw: unknown): { ok: true; value: string | undefined } | { ok: false; detail: string } {
  if (raw === undefined || raw === null || raw === "") return { ok: true, value: undefined };
  return checkEventType(raw);
}

// Code-unit comparison, the same in every process, so concurrent writers of overlapping batches
// take row locks in the same order and cannot deadlock each other.
function compareRows(a: ValidRow, b: ValidRow): number {
  if (a.phoneE164 !== b.phoneE164) return a.phoneE164 < b.phoneE164 ? -1 : 1;
  if (a.eventType !== b.eventType) return a.eventType < b.eventType ? -1 : 1;
  return a.occurredAt - b.occurredAt;
}

/**
 * Validates and plans a batch. Invariant: received = rows.length + inCallDuplicates + rejected.
 * Of rows with the same (phoneE164, eventType, occurredAt) the first wins, metadata included,
 * matching "the first stored metadata wins" for rows already in the database.
 */
export function planBatch(events: readonly RawEvent[], batchEventType: string | undefined, ctx: ValidationContext): BatchPlan {
  const rows: ValidRow[] = [];
  const rejects: RowReject[] = [];
  const seen = new Map<string, number>();
  const repeats: Array<{ index: number; firstIndex: number }> = [];
  let rejected = 0;
  let inCallDuplicates = 0;
  for (let i = 0; i < events.length; i++) {
    const result = validateEvent(events[i] ?? {}, i, batchEventType, ctx);
    if (!result.ok) {
      rejected++;
      if (rejects.length < MAX_REPORTED_REJECTS) rejects.push(result.reject);
      continue;
    }
    const row = result.row;
    // U+0000 cannot occur in a phone (digits), an eventType (no control characters) or a number,
    // so the joined key is unambiguous.
    const key = row.phoneE164 + "\u0000" + row.eventType + "\u0000" + row.occurredAt;
    const firstIndex = seen.get(key);
    if (firstIndex !== undefined) {
      inCallDuplicates++;
      repeats.push({ index: i, firstIndex });
      continue;
    }
    seen.set(key, i);
    rows.push(row);
  }
  rows.sort(compareRows);
  return { received: events.length, rows, rejected, rejects, inCallDuplicates, repeats };
}
