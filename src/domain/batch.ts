// A whole SendLeadEvents call, before the database: validate every row, count and report the
// rejects, and drop repeats within the call.

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
  /** Valid rows, first occurrence per key, in input order. */
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

/**
 * Events that arrive a chunk at a time (a request body parsed lazily): chunks of `size`, the
 * first one of `firstSize` (a small first chunk gets the database going sooner). `chunks()` may
 * be called again and starts over.
 */
export interface EventStream {
  chunks(size: number, firstSize?: number): Generator<RawEvent[]>;
}

/** Splits an array into chunks of `size` (the first of `firstSize`, the last one shorter). */
export function* chunksOf<T>(items: readonly T[], size: number, firstSize = size): Generator<T[]> {
  for (let i = 0, n = firstSize; i < items.length; i += n, n = size) yield items.slice(i, i + n);
}

/**
 * Validates a batch lazily, one chunk of events at a time, so a caller can hand each chunk's
 * rows on (to a database COPY) while the next chunk is being read and validated. Counts as it
 * goes; the counts are final once every chunk has been taken.
 */
export class BatchValidation {
  /** Events seen so far. */
  received = 0;
  /** Rows that passed validation so far (in-call repeats included). */
  valid = 0;
  rejected = 0;
  /** The first MAX_REPORTED_REJECTS rejects, in input order. */
  readonly rejects: RowReject[] = [];

  constructor(
    private readonly events: Iterable<readonly RawEvent[]>,
    private readonly batchEventType: string | undefined,
    private readonly ctx: ValidationContext,
  ) {}

  /** The valid rows of each chunk of events, in input order (chunks with none are skipped). Iterate once. */
  *validChunks(): Generator<ValidRow[]> {
    for (const events of this.events) {
      const rows: ValidRow[] = [];
      for (let k = 0; k < events.length; k++) {
        const i = this.received++;
        const result = validateEvent(events[k] ?? {}, i, this.batchEventType, this.ctx);
        if (!result.ok) {
          this.rejected++;
          if (this.rejects.length < MAX_REPORTED_REJECTS) this.rejects.push(result.reject);
          continue;
        }
        this.valid++;
        rows.push(result.row);
      }
      if (rows.length > 0) yield rows;
    }
  }
}

/**
 * Validates and plans a batch. Invariant: received = rows.length + inCallDuplicates + rejected.
 * Of rows with the same (phoneE164, eventType, occurredAt) the first wins, metadata included,
 * matching "the first stored metadata wins" for rows already in the database.
 *
 * Rows stay in input order: the database sorts them by key when it writes them (see
 * LeadEventStore), which is what keeps concurrent writers from deadlocking.
 */
export function planBatch(events: readonly RawEvent[], batchEventType: string | undefined, ctx: ValidationContext): BatchPlan {
  const validation = new BatchValidation([events], batchEventType, ctx);
  const rows: ValidRow[] = [];
  const seen = new Map<string, number>();
  const repeats: Array<{ index: number; firstIndex: number }> = [];
  for (const chunk of validation.validChunks()) {
    for (const row of chunk) {
      // U+0000 cannot occur in a phone (digits), an eventType (no control characters) or a
      // number, so the joined key is unambiguous.
      const key = row.phoneE164 + "\u0000" + row.eventType + "\u0000" + row.occurredAt;
      const firstIndex = seen.get(key);
      if (firstIndex !== undefined) {
        repeats.push({ index: row.index, firstIndex });
        continue;
      }
      seen.set(key, row.index);
      rows.push(row);
    }
  }
  return { received: events.length, rows, rejected: validation.rejected, rejects: validation.rejects, inCallDuplicates: repeats.length, repeats };
}

/**
 * The rows of `chunks` without in-call repeats: of rows with the same (phoneE164, eventType,
 * occurredAt) only the first is passed on, as planBatch does.
 */
export function* firstOfEachKey(chunks: Iterable<readonly ValidRow[]>): Generator<ValidRow[]> {
  // By type, then phone, holding the times seen: no key string built per row (a batch usually
  // has one type, so the outer lookup is nearly free), and a phone and type rarely repeat.
  const byType = new Map<string, Map<string, number | Set<number>>>();
  let lastType: string | undefined;
  let seen: Map<string, number | Set<number>> | undefined;
  for (const chunk of chunks) {
    const kept: ValidRow[] = [];
    for (const row of chunk) {
      if (row.eventType !== lastType || seen === undefined) {
        lastType = row.eventType;
        seen = byType.get(lastType);
        if (seen === undefined) byType.set(lastType, (seen = new Map()));
      }
      const times = seen.get(row.phoneE164);
      if (times === undefined) {
        seen.set(row.phoneE164, row.occurredAt);
      } else if (typeof times === "number") {
        if (times === row.occurredAt) continue;
        seen.set(row.phoneE164, new Set([times, row.occurredAt]));
      } else {
        if (times.has(row.occurredAt)) continue;
        times.add(row.occurredAt);
      }
      kept.push(row);
    }
    if (kept.length > 0) yield kept;
  }
}
