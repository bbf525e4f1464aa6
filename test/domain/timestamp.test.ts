import { describe, it, expect } from "vitest";
import {
  parseRfc3339,
  formatTimestamp,
  parseOccurredAt,
  MICROS_PER_HOUR,
  daysFromCivil,
  civilFromDays,
} from "../../src/domain/index.js";
import { firstRequest, readCase, itWithShared } from "./shared-cases.js";

function micros(raw: string): number {
  const r = parseRfc3339(raw);
  if (!r.ok) throw new Error(`${raw}: ${r.detail}`);
  return r.micros;
}

function detail(raw: string): string {
  const r = parseRfc3339(raw);
  if (r.ok) throw new Error(`${raw} parsed`);
  return r.detail;
}

const NOW = micros("2026-12-01T00:00:00Z");

describe("RFC 3339 parsing", () => {
  itWithShared("truncates fraction digits past the sixth instead of rounding (microseconds.json)", () => {
    const [a, b, c, d] = firstRequest(readCase("microseconds")).events.map((e) => micros(e.occurredAt as string));
    expect(b! - a!).toBe(1);
    expect(c).toBe(a);
    expect(d).toBe(a);
    expect(a! % 1_000_000).toBe(123456);
    expect(formatTimestamp(b!)).toBe("2026-11-30T18:34:00.123457Z");
  });

  itWithShared("gives equal instants in different offsets the same value (same-instant.json)", () => {
    const values = firstRequest(readCase("same-instant")).events.map((e) => micros(e.occurredAt as string));
    expect(new Set(values).size).toBe(1);
    expect(formatTimestamp(values[0]!)).toBe("2026-11-30T18:34:00Z");
  });

  it("accepts T, t or one space as separator and Z or z as UTC", () => {
    const want = micros("2026-11-30T18:34:00Z");
    for (const raw of ["2026-11-30t18:34:00Z", "2026-11-30 18:34:00Z", "2026-11-30T18:34:00z", "2026-11-30T18:34:00+00:00", "2026-11-30T18:34:00-00:00"]) {
      expect(micros(raw), raw).toBe(want);
    }
  });

  it("counts from the Unix epoch", () => {
    expect(micros("1970-01-01T00:00:00Z")).toBe(0);
    expect(micros("1970-01-01T00:00:00.000001Z")).toBe(1);
    expect(micros("1970-01-01T01:00:00+01:00")).toBe(0);
    expect(micros("2026-11-30T18:34:00Z")).toBe(1796063640 * 1_000_000);
  });

  it("rejects an occurredAt without an offset", () => {
    expect(detail("2026-11-30T18:34:00")).toBe("no UTC offset");
    expect(detail("2026-11-30T18:34:00.123")).toBe("no UTC offset");
  });

  it("rejects impossible dates and says which day does not exist", () => {
    expect(detail("2026-02-30T10:00:00Z")).toBe("day 30 does not exist in February 2026");
    expect(detail("2025-02-29T10:00:00Z")).toBe("day 29 does not exist in February 2025");
    expect(micros("2024-02-29T10:00:00Z")).toBeGreaterThan(0);
    expect(micros("2000-02-29T10:00:00Z")).toBeGreaterThan(0);
    expect(detail("2100-02-29T10:00:00Z")).toBe("day 29 does not exist in February 2100");
    expect(detail("2026-04-31T10:00:00Z")).toBe("day 31 does not exist in April 2026");
    expect(detail("2026-13-01T10:00:00Z")).toBe("month 13 is out of range");
    expect(detail("2026-00-01T10:00:00Z")).toBe("month 0 is out of range");
    expect(detail("2026-01-00T10:00:00Z")).toBe("day 0 is out of range");
  });

  it("rejects hour 24, minute 60 and leap seconds", () => {
    expect(detail("2026-11-30T24:00:00Z")).toBe("hour 24 is out of range");
    expect(detail("2026-11-30T23:60:00Z")).toBe("minute 60 is out of range");
    expect(detail("2026-12-31T23:59:60Z")).toMatch(/leap second/);
    expect(detail("2026-12-31T23:59:61Z")).toBe("second 61 is out of range");
  });

  it("rejects offsets out of range or not written ±hh:mm", () => {
    expect(detail("2026-11-30T18:34:00+24:00")).toBe("UTC offset +24:00 is out of range");
    expect(detail("2026-11-30T18:34:00-05:60")).toBe("UTC offset -05:60 is out of range");
    expect(detail("2026-11-30T18:34:00+0500")).toMatch(/offset/);
    expect(detail("2026-11-30T18:34:00+05")).toMatch(/offset/);
  });

  it("rejects what is not an RFC 3339 date-time", () => {
    for (const raw of [
      "yesterday",
      "",
      "2026-11-30",
      "2026-11-30T18:34Z",
      "2026-11-30  18:34:00Z",
      "2026-11-30_18:34:00Z",
      "2026-11-30T18:34:00,5Z",
      "2026-11-30T18:34:00.Z",
      " 2026-11-30T18:34:00Z",
      "2026-11-30T18:34:00Z ",
      "2026-11-30T18:34:00ZZ",
      "26-11-30T18:34:00Z",
      "2026-1-30T18:34:00Z",
      "１９７０-01-01T00:00:00Z",
      "1796063640",
    ]) {
      expect(parseRfc3339(raw).ok, JSON.stringify(raw)).toBe(false);
    }
  });

  it("refuses instants whose microseconds a double cannot hold exactly", () => {
    expect(parseRfc3339("9999-12-31T23:59:59Z").ok).toBe(false);
    expect(parseRfc3339("0001-01-01T00:00:00Z").ok).toBe(false);
    expect(parseRfc3339("2255-01-01T00:00:00Z").ok).toBe(true);
  });
});

describe("canonical timestamp format", () => {
  it("writes UTC with Z and a fraction only as long as needed", () => {
    expect(formatTimestamp(micros("2026-11-30T18:34:00Z"))).toBe("2026-11-30T18:34:00Z");
    expect(formatTimestamp(micros("2026-11-30T18:34:00.120Z"))).toBe("2026-11-30T18:34:00.12Z");
    expect(formatTimestamp(micros("2026-11-30T18:34:00.123457Z"))).toBe("2026-11-30T18:34:00.123457Z");
    expect(formatTimestamp(micros("2026-11-30T18:34:00.000001Z"))).toBe("2026-11-30T18:34:00.000001Z");
    expect(formatTimestamp(micros("2026-11-30T13:34:00.5-05:00"))).toBe("2026-11-30T18:34:00.5Z");
    expect(formatTimestamp(0)).toBe("1970-01-01T00:00:00Z");
  });

  it("formats years 0001 to 9999 and instants before 1970", () => {
    expect(formatTimestamp(daysFromCivil(1, 1, 1) * 86_400_000_000)).toBe("0001-01-01T00:00:00Z");
    expect(formatTimestamp((daysFromCivil(9999, 12, 31) * 86_400 + 86_399) * 1_000_000)).toBe("9999-12-31T23:59:59Z");
    expect(formatTimestamp(-1)).toBe("1969-12-31T23:59:59.999999Z");
    expect(formatTimestamp(micros("1900-03-01T12:00:00.25Z"))).toBe("1900-03-01T12:00:00.25Z");
  });

  it("round-trips parse and format", () => {
    for (const raw of ["2026-11-30T18:34:00Z", "2000-02-29T23:59:59.999999Z", "1970-01-01T00:00:00.1Z", "2255-06-01T00:00:00Z"]) {
      expect(formatTimestamp(micros(raw))).toBe(raw);
    }
  });
});

describe("civil calendar arithmetic", () => {
  it("agrees with the proleptic Gregorian calendar from year 1 to 9999", () => {
    // Date is only the oracle here; the code under test never uses it.
    const oracle = new Date(0);
    const mismatches: number[] = [];
    let checked = 0;
    for (let days = daysFromCivil(1, 1, 1); days <= daysFromCivil(9999, 12, 31); days += 7) {
      oracle.setTime(days * 86_400_000);
      const c = civilFromDays(days);
      const same = c.year === oracle.getUTCFullYear() && c.month === oracle.getUTCMonth() + 1 && c.day === oracle.getUTCDate();
      if (!same || daysFromCivil(c.year, c.month, c.day) !== days) mismatches.push(days);
      checked++;
    }
    expect(checked).toBeGreaterThan(500_000);
    expect(mismatches).toEqual([]);
  });
});

describe("occurredAt validation", () => {
  it("reports a missing occurredAt for absent, null and empty values", () => {
    for (const raw of [undefined, null, ""]) {
      expect(parseOccurredAt(raw, NOW)).toEqual({ ok: false, code: "missing_occurred_at", reason: "missing occurredAt" });
    }
  });

  it("reports an invalid occurredAt with what is wrong", () => {
    const r = parseOccurredAt("2026-02-30T10:00:00Z", NOW);
    expect(r).toEqual({ ok: false, code: "invalid_occurred_at", reason: "invalid occurredAt: day 30 does not exist in February 2026" });
    const n = parseOccurredAt(1796063640, NOW);
    expect(n.ok === false && n.code).toBe("invalid_occurred_at");
    const x = parseOccurredAt("2026-11-30T18:34:00", NOW);
    expect(x.ok === false && x.reason).toBe("invalid occurredAt: no UTC offset");
  });

  it("rejects an occurredAt before 1970", () => {
    expect(parseOccurredAt("1969-12-31T23:59:59Z", NOW)).toEqual({ ok: false, code: "invalid_occurred_at", reason: "invalid occurredAt: before 1970" });
    expect(parseOccurredAt("1970-01-01T00:30:00+01:00", NOW).ok).toBe(false);
    expect(parseOccurredAt("1970-01-01T00:00:00Z", NOW)).toEqual({ ok: true, value: 0 });
  });

  it("allows exactly one hour in the future and rejects anything later", () => {
    expect(parseOccurredAt("2026-12-01T01:00:00Z", NOW)).toEqual({ ok: true, value: NOW + MICROS_PER_HOUR });
    const later = parseOccurredAt("2026-12-01T01:00:00.000001Z", NOW);
    expect(later).toEqual({ ok: false, code: "invalid_occurred_at", reason: "invalid occurredAt: more than 1 hour in the future" });
    const far = parseOccurredAt("9999-12-31T23:59:59Z", NOW);
    expect(far.ok === false && far.reason).toBe("invalid occurredAt: more than 1 hour in the future");
  });
});
