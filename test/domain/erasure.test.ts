import { describe, it, expect } from "vitest";
import {
  applyTombstones,
  distinctPhones,
  planBatch,
  createPhoneNormalizer,
  MAX_REPORTED_REJECTS,
  type ErasureTombstone,
  type RawEvent,
  type BatchPlan,
} from "../../src/domain/index.js";
import { at } from "./time.js";


const ctx = { normalizePhone: createPhoneNormalizer({ defaultRegion: "US", strict: false }), nowMicros: at("2026-12-03T12:00:00Z") };
const ERASED_AT = at("2026-12-01T00:00:00Z");

function expectInvariant(plan: BatchPlan): void {
  expect(plan.received).toBe(plan.rows.length + plan.inCallDuplicates + plan.rejected);
  expect(plan.inCallDuplicates).toBe(plan.repeats.length);
}

describe("erasure tombstones in a batch", () => {
  const tombstone = (phoneE164: string, eventType = "", erasedBefore = ERASED_AT): ErasureTombstone => ({ phoneE164, eventType, erasedBefore });

  it("rejects rows at or before erasedBefore with erased_phone, and accepts later ones", () => {
    const events: RawEvent[] = [
      { phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:00Z" },
      { phoneE164: "(415) 555-0132", occurredAt: "2026-12-01T00:00:00Z" },
      { phoneE164: "+14155550132", occurredAt: "2026-12-01T00:00:00.000001Z" },
      { phoneE164: "+14155550133", occurredAt: "2026-11-30T18:34:00Z" },
    ];
    const plan = applyTombstones(planBatch(events, "paid", ctx), [tombstone("+14155550132")], events);
    expect(plan.rejects).toEqual([
      { index: 0, phoneE164: "+14155550132", code: "erased_phone", reason: "erased phoneE164" },
      { index: 1, phoneE164: "(415) 555-0132", code: "erased_phone", reason: "erased phoneE164" },
    ]);
    expect(plan.rows.map((r) => r.index).sort()).toEqual([2, 3]);
    expect(plan.rejected).toBe(2);
    expectInvariant(plan);
  });

  it("applies a type's tombstone to that type only, and an empty type to every type", () => {
    const events: RawEvent[] = [
      { phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:00Z", eventType: "paid" },
      { phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:00Z", eventType: "visited" },
      { phoneE164: "+14155550134", occurredAt: "2026-11-30T18:34:00Z", eventType: "visited" },
    ];
    const plan = applyTombstones(planBatch(events, undefined, ctx), [tombstone("+14155550132", "paid"), tombstone("+14155550134")], events);
    expect(plan.rejects.map((r) => r.index)).toEqual([0, 2]);
    expect(plan.rows.map((r) => r.index)).toEqual([1]);
  });

  it("rejects the in-call repeats of an erased row too, not as duplicates", () => {
    const events: RawEvent[] = [
      { phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:00Z" },
      { phoneE164: "+14155550133", occurredAt: "2026-11-30T18:34:00Z" },
      { phoneE164: "+14155550133", occurredAt: "2026-11-30T18:34:00Z" },
      { phoneE164: "14155550132", occurredAt: "2026-11-30T13:34:00-05:00" },
    ];
    const planned = planBatch(events, "paid", ctx);
    expect(planned.inCallDuplicates).toBe(2);
    const plan = applyTombstones(planned, [tombstone("+14155550132")], events);
    expect(plan.rejects.map((r) => [r.index, r.phoneE164])).toEqual([[0, "+14155550132"], [3, "14155550132"]]);
    expect(plan.inCallDuplicates).toBe(1);
    expect(plan.rows).toHaveLength(1);
    expectInvariant(plan);
  });

  it("merges erased rows into the rejects in input order and keeps the first 50, counting all", () => {
    const events: RawEvent[] = [];
    for (let i = 0; i < 180; i++) {
      // Every third row invalid, every third erased, every third fine.
      if (i % 3 === 0) events.push({ phoneE164: "nope", occurredAt: "2026-11-30T18:34:00Z" });
      else if (i % 3 === 1) events.push({ phoneE164: "+14155550132", occurredAt: `2026-11-30T18:34:${String(i % 60).padStart(2, "0")}.${String(i).padStart(3, "0")}Z` });
      else events.push({ phoneE164: `+1415555${String(1000 + i)}`, occurredAt: "2026-11-30T18:34:00Z" });
    }
    const planned = planBatch(events, "paid", ctx);
    expect(planned.rejects).toHaveLength(MAX_REPORTED_REJECTS);
    const plan = applyTombstones(planned, [tombstone("+14155550132")], events);
    expect(plan.rejected).toBe(120);
    expect(plan.rejects).toHaveLength(MAX_REPORTED_REJECTS);
    expect(plan.rejects.map((r) => r.index)).toEqual(Array.from({ length: 180 }, (_, i) => i).filter((i) => i % 3 !== 2).slice(0, 50));
    expect(plan.rejects[1]).toMatchObject({ index: 1, code: "erased_phone" });
    expect(plan.rejects[0]).toMatchObject({ index: 0, code: "invalid_phone" });
    expectInvariant(plan);
  });

  it("returns the plan unchanged without tombstones or without a covered row", () => {
    const events: RawEvent[] = [{ phoneE164: "+14155550132", occurredAt: "2026-12-02T00:00:00Z" }];
    const planned = planBatch(events, "paid", ctx);
    expect(applyTombstones(planned, [], events)).toBe(planned);
    expect(applyTombstones(planned, [tombstone("+14155550132")], events)).toBe(planned);
  });

  it("lists the distinct phones of planned rows, in order of first appearance", () => {
    const events: RawEvent[] = [
      { phoneE164: "+14155550133", occurredAt: "2026-11-30T18:34:00Z" },
      { phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:01Z" },
      { phoneE164: "+14155550133", occurredAt: "2026-11-30T18:34:02Z" },
    ];
    expect(distinctPhones(planBatch(events, "paid", ctx).rows)).toEqual(["+14155550133", "+14155550132"]);
  });
});
