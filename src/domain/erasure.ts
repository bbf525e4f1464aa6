// Erasure tombstones: after a phone's events are erased, a replay of old data must not bring them
// back. A tombstone says "events of this phone (and type, or every type) that occurred at or
// before erasedBefore stay erased"; newer events are accepted again.

import { MAX_REPORTED_REJECTS, type BatchPlan } from "./batch.js";
import type { EpochMicros, RawEvent, RowReject, ValidRow } from "./types.js";

export interface ErasureTombstone {
  phoneE164: string;
  /** "" = every type. */
  eventType: string;
  erasedBefore: EpochMicros;
}

export const ERASED_REASON = "erased phoneE164";

/** Indexes tombstones by phone for the per-row check. */
export function tombstoneIndex(tombstones: readonly ErasureTombstone[]): Map<string, ErasureTombstone[]> {
  const byPhone = new Map<string, ErasureTombstone[]>();
  for (const t of tombstones) {
    const list = byPhone.get(t.phoneE164);
    if (list) list.push(t);
    else byPhone.set(t.phoneE164, [t]);
  }
  return byPhone;
}

/** True when a tombstone of the row's phone covers the row's type and instant. */
export function isErased(row: Pick<ValidRow, "phoneE164" | "eventType" | "occurredAt">, byPhone: Map<string, ErasureTombstone[]>): boolean {
  const list = byPhone.get(row.phoneE164);
  if (!list) return false;
  for (const t of list) {
    if ((t.eventType === "" || t.eventType === row.eventType) && row.occurredAt <= t.erasedBefore) return true;
  }
  return false;
}

/**
 * Turns the planned rows that tombstones cover into rejects (code erased_phone), and with them the
 * in-call repeats of those rows: every entry of the call that would have restored erased data is
 * reported, not only its first copy. The result keeps the plan's invariant
 * (received = rows + inCallDuplicates + rejected) and its rejects stay the first
 * MAX_REPORTED_REJECTS of all rejects in input order.
 *
 * That merge is exact although plan.rejects holds only the first 50 validation rejects: any
 * validation reject not listed there comes after the 50th listed one, so it cannot be among the
 * first 50 of the merged list either.
 */
export function applyTombstones(plan: BatchPlan, tombstones: readonly ErasureTombstone[], events: readonly RawEvent[]): BatchPlan {
  if (tombstones.length === 0) return plan;
  const byPhone = tombstoneIndex(tombstones);
  const erasedIndexes = new Set<number>();
  const rows: ValidRow[] = [];
  for (const row of plan.rows) {
    if (isErased(row, byPhone)) erasedIndexes.add(row.index);
    else rows.push(row);
  }
  if (erasedIndexes.size === 0) return plan;

  const erased: number[] = [...erasedIndexes];
  const repeats: BatchPlan["repeats"] = [];
  for (const r of plan.repeats) {
    if (erasedIndexes.has(r.firstIndex)) erased.push(r.index);
    else repeats.push(r);
  }
  erased.sort((a, b) => a - b);

  const merged: RowReject[] = [];
  let v = 0;
  let e = 0;
  while (merged.length < MAX_REPORTED_REJECTS && (v < plan.rejects.length || e < erased.length)) {
    const nextValidation = plan.rejects[v];
    const nextErased = erased[e];
    if (nextErased === undefined || (nextValidation !== undefined && nextValidation.index < nextErased)) {
      merged.push(nextValidation!);
      v++;
    } else {
      const raw = events[nextErased]?.phoneE164;
      merged.push({ index: nextErased, phoneE164: typeof raw === "string" ? raw : "", code: "erased_phone", reason: ERASED_REASON });
      e++;
    }
  }
  return {
    received: plan.received,
    rows,
    rejected: plan.rejected + erased.length,
    rejects: merged,
    inCallDuplicates: repeats.length,
    repeats,
  };
}

/** The distinct phones of planned rows, in order of first appearance. */
export function distinctPhones(rows: readonly ValidRow[]): string[] {
  return [...new Set(rows.map((r) => r.phoneE164))];
}
