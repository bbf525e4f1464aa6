import { describe, it, expect } from "vitest";
import { validateEvent, createPhoneNormalizer, type ValidationContext, type RawEvent } from "../../src/domain/index.js";
import { firstRequest, readCase, itWithShared } from "./shared-cases.js";
import { at } from "./time.js";


// After every valid occurredAt in the cases, before 2099.
const ctx: ValidationContext = { normalizePhone: createPhoneNormalizer({ strict: false }), nowMicros: at("2026-12-03T12:00:00Z") };

describe("row validation", () => {
  itWithShared("gives the bad rows of bad-rows.json the listed reasons, in input order", () => {
    const c = readCase("bad-rows");
    const req = firstRequest(c);
    const results = req.events.map((ev, i) => validateEvent(ev, i, req.eventType, ctx));
    const rejects = results.flatMap((r) => (r.ok ? [] : [r.reject]));
    const expected = c.calls[0]!.expect as { rejects: { index: number; phoneE164: string; reason: string }[]; rejected: number };
    expect(rejects).toHaveLength(expected.rejected);
    expect(results.filter((r) => r.ok).map((r) => r.ok && r.row.index)).toEqual([0, 14, 16, 17]);
    rejects.forEach((got, k) => {
      const want = expected.rejects[k]!;
      expect(got.index).toBe(want.index);
      expect(got.phoneE164).toBe(want.phoneE164);
      expect(got.reason.startsWith(want.reason), `${got.reason} / ${want.reason}`).toBe(true);
    });
  });

  it("returns a normalized row with canonical fields", () => {
    const r = validateEvent({ phoneE164: "+1 (415) 555-0132", occurredAt: "2026-11-30T13:34:00.5-05:00", metadata: { a: 1 } }, 7, "paid", ctx);
    expect(r).toEqual({
      ok: true,
      row: { index: 7, phoneE164: "+14155550132", eventType: "paid", occurredAt: at("2026-11-30T18:34:00.5Z"), metadataJson: '{"a":1}' },
    });
  });

  it("checks phone before occurredAt", () => {
    const r = validateEvent({ phoneE164: "nope", occurredAt: "yesterday" }, 0, "paid", ctx);
    expect(r.ok === false && r.reject).toEqual({ index: 0, phoneE164: "nope", code: "invalid_phone", reason: "invalid phoneE164" });
  });

  it("checks occurredAt before eventType, and eventType before metadata", () => {
    const a = validateEvent({ phoneE164: "+14155550132", occurredAt: "2026-02-30T00:00:00Z", eventType: " bad" }, 0, "paid", ctx);
    expect(a.ok === false && a.reject.code).toBe("invalid_occurred_at");
    const b = validateEvent({ phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:00Z", eventType: " bad", metadata: [1] }, 0, "paid", ctx);
    expect(b.ok === false && b.reject.code).toBe("invalid_event_type");
    expect(b.ok === false && b.reject.reason).toMatch(/^invalid eventType: /);
  });

  it("lets a per-event eventType override the batch one, and falls back when it is absent", () => {
    const base: RawEvent = { phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:00Z" };
    const own = validateEvent({ ...base, eventType: "trial_started" }, 0, "webinar_attended", ctx);
    expect(own.ok && own.row.eventType).toBe("trial_started");
    for (const eventType of [undefined, null, ""]) {
      const r = validateEvent({ ...base, eventType }, 0, "webinar_attended", ctx);
      expect(r.ok && r.row.eventType).toBe("webinar_attended");
    }
  });

  it("rejects a row with no eventType anywhere", () => {
    const r = validateEvent({ phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:00Z" }, 3, undefined, ctx);
    expect(r.ok === false && r.reject).toEqual({ index: 3, phoneE164: "+14155550132", code: "invalid_event_type", reason: "invalid eventType: missing" });
  });

  it("echoes the phone as sent: a number as its text, an object or nothing as an empty string", () => {
    const r = validateEvent({ phoneE164: 14155550132, occurredAt: "2026-11-30T18:34:00Z" }, 0, "paid", ctx);
    expect(r.ok === false && r.reject.phoneE164).toBe("14155550132");
    const o = validateEvent({ phoneE164: { n: 1 }, occurredAt: "2026-11-30T18:34:00Z" }, 0, "paid", ctx);
    expect(o.ok === false && o.reject.phoneE164).toBe("");
    const s = validateEvent({ phoneE164: " +1 415 555 0132 ", occurredAt: "2099-01-01T00:00:00Z" }, 0, "paid", ctx);
    expect(s.ok === false && s.reject.phoneE164).toBe(" +1 415 555 0132 ");
  });
});

describe("metadata_json", () => {
  const ev = (extra: object) => ({ phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:00Z", ...extra });
  it("accepts metadata as JSON text and stores it compact", () => {
    const r = validateEvent(ev({ metadataJson: '{ "a" : 1 }' }), 0, "paid", ctx);
    expect(r.ok && r.row.metadataJson).toBe('{"a":1}');
  });
  it("rejects a row that sends both metadata and metadata_json, or text that is not a JSON object", () => {
    const both = validateEvent(ev({ metadata: { a: 1 }, metadataJson: '{"a":1}' }), 0, "paid", ctx);
    expect(both.ok ? "ok" : both.reject.reason).toMatch(/^invalid metadata: send metadata or metadata_json, not both/);
    const bad = validateEvent(ev({ metadataJson: "{nope" }), 0, "paid", ctx);
    expect(bad.ok ? "ok" : bad.reject.reason).toMatch(/^invalid metadata/);
    const arr = validateEvent(ev({ metadataJson: "[1]" }), 0, "paid", ctx);
    expect(arr.ok ? "ok" : arr.reject.reason).toMatch(/^invalid metadata/);
  });
});
