import { describe, it, expect } from "vitest";
import { checkEventType, checkBatchEventType } from "../../src/domain/index.js";
import { readCase, itWithShared } from "./shared-cases.js";

describe("eventType", () => {
  it("keeps case: Mastery_Purchase and mastery_purchase are different types", () => {
    expect(checkEventType("Mastery_Purchase")).toEqual({ ok: true, value: "Mastery_Purchase" });
    expect(checkEventType("mastery_purchase")).toEqual({ ok: true, value: "mastery_purchase" });
  });

  itWithShared("accepts 128 characters and rejects 129 (event-type.json)", () => {
    const c = readCase("event-type");
    const types = c.calls.map((call) => (call.request === "same" ? undefined : call.request.eventType));
    expect(types[2]).toHaveLength(128);
    expect(checkEventType(types[2]).ok).toBe(true);
    expect(types[3]).toHaveLength(129);
    expect(checkEventType(types[3]).ok).toBe(false);
    expect(checkBatchEventType(types[3]).ok).toBe(false);
  });

  it("counts Unicode code points, not UTF-16 units", () => {
    expect(checkEventType("😀".repeat(128)).ok).toBe(true); // 256 UTF-16 units
    expect(checkEventType("😀".repeat(129)).ok).toBe(false);
    expect(checkEventType("é".repeat(128)).ok).toBe(true);
  });

  it("rejects control characters (C0, DEL, C1)", () => {
    for (const raw of ["a\u0000b", "a\nb", "a\tb", "a\u001fb", "a\u007fb", "a\u0085b", "a\u009fb"]) {
      const r = checkEventType(raw);
      expect(r.ok, JSON.stringify(raw)).toBe(false);
      expect(!r.ok && r.detail).toMatch(/control/);
    }
  });

  it("rejects leading or trailing white space instead of trimming it", () => {
    for (const raw of [" paid", "paid ", "\u00a0paid", "paid\u3000", " "]) {
      expect(checkEventType(raw).ok, JSON.stringify(raw)).toBe(false);
    }
    expect(checkEventType("webinar attended")).toEqual({ ok: true, value: "webinar attended" });
  });

  it("rejects lone surrogates, empty strings and non-strings", () => {
    for (const raw of ["a\ud800", "\udc00a", "a\ud800b", "", undefined, null, 42, {}]) {
      expect(checkEventType(raw).ok, JSON.stringify(raw)).toBe(false);
    }
  });

  it("treats an absent batch-level eventType as not given", () => {
    for (const raw of [undefined, null, ""]) expect(checkBatchEventType(raw)).toEqual({ ok: true, value: undefined });
    expect(checkBatchEventType("webinar_attended")).toEqual({ ok: true, value: "webinar_attended" });
    expect(checkBatchEventType(" webinar_attended").ok).toBe(false);
  });
});

describe("eventType invisible characters", () => {
  it("rejects zero-width and bidi formatting characters that would make look-alike types", () => {
    for (const t of ["paid\u200b", "pa\u200did", "\u202epaid", "paid\ufeff", "pa\u2060id"]) {
      expect(checkEventType(t).ok, JSON.stringify(t)).toBe(false);
    }
    expect(checkEventType("café_visit 🎉").ok).toBe(true);
  });
});
