import { describe, it, expect } from "vitest";
import {
  checkEventFilter,
  resolveAsOf,
  filterWindow,
  keeps,
  parseAudience,
  createPhoneNormalizer,
  formatTimestamp,
  MICROS_PER_MINUTE,
} from "../../src/domain/index.js";
import { at } from "./time.js";


const AS_OF = at("2026-11-30T20:00:00Z");

describe("event filter checks", () => {
  it("accepts include and exclude with or without a window", () => {
    expect(checkEventFilter({ mode: "include", eventType: "webinar_attended", withinMinutes: undefined })).toEqual({
      ok: true,
      value: { mode: "include", eventType: "webinar_attended", withinMinutes: undefined },
    });
    expect(checkEventFilter({ mode: "exclude", eventType: "x", withinMinutes: 0 })).toMatchObject({ ok: true, value: { withinMinutes: 0 } });
  });

  it("refuses a missing filter, an unspecified mode, and an empty event type", () => {
    expect(checkEventFilter(undefined)).toMatchObject({ ok: false, reason: "FILTER_MISSING" });
    expect(checkEventFilter({ mode: undefined, eventType: "x", withinMinutes: undefined })).toMatchObject({ ok: false, reason: "FILTER_MODE_INVALID" });
    expect(checkEventFilter({ mode: "include", eventType: "", withinMinutes: undefined })).toMatchObject({ ok: false, reason: "EVENT_TYPE_MISSING" });
  });

  it("refuses an event type no row can have (edge white space, control characters, too long) instead of matching nobody", () => {
    for (const eventType of [" webinar_attended", "webinar_attended ", "a\u0000b", "x".repeat(129)]) {
      expect(checkEventFilter({ mode: "exclude", eventType, withinMinutes: undefined })).toMatchObject({ ok: false, reason: "EVENT_TYPE_INVALID" });
    }
  });

  it("keeps event types case-sensitive", () => {
    expect(checkEventFilter({ mode: "include", eventType: "Webinar_Attended", withinMinutes: undefined })).toMatchObject({ ok: true, value: { eventType: "Webinar_Attended" } });
  });

  it("refuses a negative or fractional withinMinutes", () => {
    expect(checkEventFilter({ mode: "include", eventType: "x", withinMinutes: -1 })).toMatchObject({ ok: false, reason: "WITHIN_MINUTES_INVALID" });
    expect(checkEventFilter({ mode: "include", eventType: "x", withinMinutes: 1.5 })).toMatchObject({ ok: false, reason: "WITHIN_MINUTES_INVALID" });
  });
});

describe("asOf", () => {
  it("defaults to now when empty", () => {
    expect(resolveAsOf("", 123)).toEqual({ ok: true, value: 123 });
  });

  it("parses any offset to the same instant", () => {
    expect(resolveAsOf("2026-11-30T15:00:00-05:00", 0)).toEqual({ ok: true, value: AS_OF });
  });

  it("refuses an impossible date instead of rolling it over, and a time without an offset", () => {
    const feb30 = resolveAsOf("2026-02-30T10:00:00Z", 0);
    expect(feb30).toMatchObject({ ok: false, reason: "AS_OF_INVALID" });
    expect(!feb30.ok && feb30.message).toContain("February");
    expect(resolveAsOf("2026-11-30T24:00:00Z", 0)).toMatchObject({ ok: false, reason: "AS_OF_INVALID" });
    expect(resolveAsOf("2026-11-30T20:00:00", 0)).toMatchObject({ ok: false, reason: "AS_OF_INVALID" });
  });
});

describe("filter window", () => {
  it("has no lower bound without withinMinutes", () => {
    expect(filterWindow(AS_OF, undefined)).toEqual({ from: null, to: AS_OF });
  });

  it("reaches exactly withinMinutes back, both ends inclusive", () => {
    const w = filterWindow(AS_OF, 120);
    expect(formatTimestamp(w.from!)).toBe("2026-11-30T18:00:00Z");
    expect(w.to).toBe(AS_OF);
  });

  it("is a single instant for withinMinutes 0", () => {
    expect(filterWindow(AS_OF, 0)).toEqual({ from: AS_OF, to: AS_OF });
  });

  it("drops a lower bound before 1970, even for the largest int32 window", () => {
    expect(filterWindow(AS_OF, 2_147_483_647)).toEqual({ from: null, to: AS_OF });
    expect(filterWindow(10 * MICROS_PER_MINUTE, 10)).toEqual({ from: 0, to: 10 * MICROS_PER_MINUTE });
    expect(filterWindow(10 * MICROS_PER_MINUTE, 11)).toEqual({ from: null, to: 10 * MICROS_PER_MINUTE });
  });
});

describe("include and exclude", () => {
  it("are complements", () => {
    for (const has of [true, false]) expect(keeps("include", has)).toBe(!keeps("exclude", has));
    expect(keeps("include", true)).toBe(true);
    expect(keeps("exclude", true)).toBe(false);
  });
});

describe("audience parsing", () => {
  const us = createPhoneNormalizer({ defaultRegion: "US", strict: false });

  it("normalizes with the organization's rules and keeps each phone once, in first-seen order", () => {
    const a = parseAudience(["+14155550152", "1 415 555 0151", "(415) 555-0152", "tel:+1-415-555-0151"], us);
    expect(a).toEqual({ count: 4, phones: ["+14155550152", "+14155550151"], unparseable: [], unparseableCount: 0 });
  });

  it("lists unparseable entries as sent, in order, repeats included", () => {
    const a = parseAudience(["not a phone", "+14155550151", "", "not a phone", "555-01"], us);
    expect(a.unparseable).toEqual(["not a phone", "", "not a phone", "555-01"]);
    expect(a.unparseableCount).toBe(4);
    expect(a.count).toBe(5);
  });

  it("reads national numbers only with a default region, and strict mode refuses fictional 555 numbers", () => {
    const none = createPhoneNormalizer({ defaultRegion: undefined, strict: false });
    expect(parseAudience(["(415) 555-0152"], none).unparseable).toEqual(["(415) 555-0152"]);
    const strict = createPhoneNormalizer({ defaultRegion: "US", strict: true });
    expect(parseAudience(["+1 555 123 4567"], strict).unparseable).toEqual(["+1 555 123 4567"]);
  });

  it("caps the listed unparseable entries but counts them all", () => {
    const a = parseAudience(["a", "b", "c", "+14155550151"], us, 2);
    expect(a.unparseable).toEqual(["a", "b"]);
    expect(a.unparseableCount).toBe(3);
    expect(a.phones).toEqual(["+14155550151"]);
  });
});
