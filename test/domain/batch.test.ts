import { describe, it, expect } from "vitest";
import {
  planBatch,
  BatchValidation,
  chunksOf,
  firstOfEachKey,
  createPhoneNormalizer,
  formatTimestamp,
  MAX_EVENTS_PER_CALL,
  MAX_REPORTED_REJECTS,
  type ValidationContext,
  type RawEvent,
  type BatchPlan,
} from "../../src/domain/index.js";
import { firstRequest, readCase, itWithShared } from "./shared-cases.js";
import { at } from "./time.js";


function context(defaultRegion?: string): ValidationContext {
  return { normalizePhone: createPhoneNormalizer({ defaultRegion, strict: false }), nowMicros: at("2026-12-03T12:00:00Z") };
}

function expectInvariant(plan: BatchPlan): void {
  expect(plan.received).toBe(plan.rows.length + plan.inCallDuplicates + plan.rejected);
}

describe("batch planning", () => {
  it("keeps the first of in-call duplicates, its metadata included", () => {
    const events: RawEvent[] = [
      { phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:00Z", metadata: { n: 1 } },
      { phoneE164: "14155550132", occurredAt: "2026-11-30T13:34:00-05:00", metadata: { n: 2 } },
      { phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:00Z", eventType: "other", metadata: { n: 3 } },
    ];
    const plan = planBatch(events, "paid", context());
    expect(plan.inCallDuplicates).toBe(1);
    expect(plan.rows.map((r) => [r.index, r.eventType, r.metadataJson])).toEqual([
      [0, "paid", '{"n":1}'],
      [2, "other", '{"n":3}'],
    ]);
    expectInvariant(plan);
  });

  it("keeps rows in input order: the database orders them by key when it writes", () => {
    const events: RawEvent[] = [
      { phoneE164: "+14155550133", occurredAt: "2026-11-30T18:34:00Z" },
      { phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:01Z", eventType: "b" },
      { phoneE164: "+14155550132", occurredAt: "1970-01-01T00:00:09Z", eventType: "a" },
    ];
    const plan = planBatch(events, "a", context());
    expect(plan.rows.map((r) => r.index)).toEqual([0, 1, 2]);
    expect(formatTimestamp(plan.rows[2]!.occurredAt)).toBe("1970-01-01T00:00:09Z");
  });

  it("validates lazily chunk by chunk, counting as it goes", () => {
    const events: RawEvent[] = [];
    for (let i = 0; i < 10; i++) events.push({ phoneE164: i % 3 === 0 ? "nope" : `+1415555${String(i).padStart(4, "0")}`, occurredAt: "2026-11-30T18:34:00Z" });
    const validation = new BatchValidation(chunksOf(events, 4), "paid", context());
    const chunks = validation.validChunks();
    const first = chunks.next();
    expect(first.value!.map((r: { index: number }) => r.index)).toEqual([1, 2]);
    // Only the first chunk's events have been looked at.
    expect(validation).toMatchObject({ received: 4, valid: 2, rejected: 2 });
    const rest = [...chunks].map((c) => c.map((r) => r.index));
    expect(rest).toEqual([[4, 5, 7], [8]]);
    expect(validation).toMatchObject({ received: 10, valid: 6, rejected: 4 });
    expect(validation.rejects.map((r) => r.index)).toEqual([0, 3, 6, 9]);
  });

  it("splits arrays into chunks, the first one of its own size", () => {
    expect([...chunksOf([1, 2, 3, 4, 5, 6, 7], 3, 1)]).toEqual([[1], [2, 3, 4], [5, 6, 7]]);
    expect([...chunksOf([1, 2, 3], 2)]).toEqual([[1, 2], [3]]);
    expect([...chunksOf([], 2)]).toEqual([]);
  });

  it("passes on the first row of each key across chunks, as planBatch keeps it", () => {
    const events: RawEvent[] = [
      { phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:00Z", metadata: { n: 0 } },
      { phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:01Z" },
      { phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:00Z", eventType: "other" },
      { phoneE164: "14155550132", occurredAt: "2026-11-30T13:34:00-05:00", metadata: { n: 3 } },
      { phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:01Z" },
      { phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:02Z" },
      { phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:02Z" },
      // The other type again, after rows of the batch type: still a repeat of row 2.
      { phoneE164: "+1 415 555 0132", occurredAt: "2026-11-30T18:34:00Z", eventType: "other" },
    ];
    const validation = new BatchValidation(chunksOf(events, 2), "paid", context());
    const kept = [...firstOfEachKey(validation.validChunks())].flat();
    expect(kept.map((r) => r.index)).toEqual(planBatch(events, "paid", context()).rows.map((r) => r.index));
    expect(kept.map((r) => r.index)).toEqual([0, 1, 2, 5]);
  });

  it("caps reported rejects at 50 in input order but counts them all", () => {
    const events: RawEvent[] = [];
    for (let i = 0; i < 130; i++) {
      events.push(i % 2 === 0 ? { phoneE164: `bad ${i}`, occurredAt: "2026-11-30T18:34:00Z" } : { phoneE164: `+1415555${String(i).padStart(4, "0")}`, occurredAt: "2026-11-30T18:34:00Z" });
    }
    const plan = planBatch(events, "paid", context());
    expect(MAX_REPORTED_REJECTS).toBe(50);
    expect(plan.rejected).toBe(65);
    expect(plan.rejects).toHaveLength(50);
    expect(plan.rejects.map((r) => r.index)).toEqual(Array.from({ length: 50 }, (_, k) => 2 * k));
    expect(plan.rows).toHaveLength(65);
    expectInvariant(plan);
  });

  itWithShared("matches the expected counts of the in-call acceptance cases", () => {
    const cases: [string, number, number, number][] = [
      // name, rows (first call: inserted), in-call duplicates, rejected
      ["phone-formats", 1, 12, 0],
      ["same-instant", 1, 4, 0],
      ["microseconds", 2, 2, 0],
      ["default-region", 3, 1, 0],
      ["metadata-bytes", 2, 0, 2],
      ["bad-rows", 4, 0, 16],
    ];
    for (const [name, rows, dups, rejected] of cases) {
      const c = readCase(name);
      const req = firstRequest(c);
      const plan = planBatch(req.events, req.eventType, context(c.org.defaultRegion));
      expect([plan.rows.length, plan.inCallDuplicates, plan.rejected], name).toEqual([rows, dups, rejected]);
      expectInvariant(plan);
      if (c.stored && name !== "bad-rows") {
        const stored = plan.rows.map((r) => ({ phoneE164: r.phoneE164, eventType: r.eventType, occurredAt: formatTimestamp(r.occurredAt) }));
        expect(new Set(stored.map((s) => JSON.stringify(s))), name).toEqual(new Set(c.stored.map((s) => JSON.stringify(s))));
      }
    }
  });

  it("plans a full 50,000-row batch (speed is measured by test/bench, not here)", () => {
    expect(MAX_EVENTS_PER_CALL).toBe(50_000);
    const events: RawEvent[] = [];
    for (let i = 0; i < MAX_EVENTS_PER_CALL; i++) {
      const phone = String(2015550000 + (i % 40_000) * 7);
      events.push({
        phoneE164: i % 3 === 0 ? `+1${phone}` : `(${phone.slice(0, 3)}) ${phone.slice(3, 6)}-${phone.slice(6)}`,
        occurredAt: `2026-11-30T18:${String(i % 60).padStart(2, "0")}:00.${String(i % 1000).padStart(3, "0")}123Z`,
        metadata: { minutes: i % 100, source: "webinar-report" },
      });
    }
    const plan = planBatch(events, "webinar_attended", context("US"));
    expect(plan.rejected).toBe(0);
    expectInvariant(plan);
  });
});
