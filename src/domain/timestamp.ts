// occurredAt: RFC 3339 (section 5.6 date-time) <-> microseconds since the Unix epoch.
// Integer arithmetic only, never JavaScript Date: Date holds milliseconds and would merge events
// that differ in microseconds, which breaks idempotency (a retry must land on the same key).

import { civilFromDays, daysFromCivil, daysInMonth } from "./calendar.js";
import type { EpochMicros, Validated } from "./types.js";

export const MICROS_PER_SECOND = 1_000_000;
export const MICROS_PER_MINUTE = 60 * MICROS_PER_SECOND;
export const MICROS_PER_HOUR = 60 * MICROS_PER_MINUTE;
const SECONDS_PER_DAY = 86_400;

/** How far ahead of the server clock an occurredAt may be (clock skew between systems). */
export const MAX_FUTURE_SKEW_MICROS = MICROS_PER_HOUR;

// Beyond this many seconds from 1970 (about 1684–2255) microseconds no longer fit a double exactly.
const MAX_EXACT_SECONDS = Math.floor((Number.MAX_SAFE_INTEGER - (MICROS_PER_SECOND - 1)) / MICROS_PER_SECOND);

const MONTHS = [
  "January", "February", "March", "April", "May", "June",
  "July", "August", "September", "October", "November", "December",
];

const NOT_RFC3339 = "not an RFC 3339 timestamp";

/** An instant split so that any year 0000–9999 is exact: whole seconds plus micros [0, 999999]. */
type Parts = { ok: true; seconds: number; micros: number } | { ok: false; detail: string };

/** The value of `count` ASCII digits at `at`, or -1 if any is missing or not a digit. */
function digitsAt(s: string, at: number, count: number): number {
  if (at + count > s.length) return -1;
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

function two(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/** Parses the RFC 3339 grammar, then checks each field's range; the first problem is the detail. */
function parseParts(s: string): Parts {
  const year = digitsAt(s, 0, 4);
  const month = digitsAt(s, 5, 2);
  const day = digitsAt(s, 8, 2);
  if (year < 0 || month < 0 || day < 0 || s[4] !== "-" || s[7] !== "-") return { ok: false, detail: NOT_RFC3339 };
  if (s.length === 10) return { ok: false, detail: "a date without a time" };
  const sep = s[10];
  // RFC 3339 5.6: "T" (any case); its note allows a single space for readability.
  if (sep !== "T" && sep !== "t" && sep !== " ") return { ok: false, detail: NOT_RFC3339 };
  const hour = digitsAt(s, 11, 2);
  const minute = digitsAt(s, 14, 2);
  const second = digitsAt(s, 17, 2);
  if (hour < 0 || minute < 0 || second < 0 || s[13] !== ":" || s[16] !== ":") return { ok: false, detail: NOT_RFC3339 };

  let i = 19;
  let micros = 0;
  if (s[i] === ".") {
    const start = ++i;
    while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
    if (i === start) return { ok: false, detail: "a decimal point without digits" };
    // Keep the first six digits and drop the rest: truncation, the same on every path.
    for (let k = 0; k < 6; k++) micros = micros * 10 + (start + k < i ? s.charCodeAt(start + k) - 0x30 : 0);
  }

  if (i === s.length) return { ok: false, detail: "no UTC offset" };
  let offsetSeconds = 0;
  let offsetText = "";
  const z = s[i];
  if (z === "Z" || z === "z") {
    i++;
  } else if (z === "+" || z === "-") {
    const oh = digitsAt(s, i + 1, 2);
    const om = digitsAt(s, i + 4, 2);
    if (oh < 0 || om < 0 || s[i + 3] !== ":") return { ok: false, detail: "UTC offset is not Z or ±hh:mm" };
    offsetText = z + two(oh) + ":" + two(om);
    if (oh > 23 || om > 59) return { ok: false, detail: `UTC offset ${offsetText} is out of range` };
    offsetSeconds = (z === "-" ? -1 : 1) * (oh * 3600 + om * 60);
    i += 6;
  } else {
    return { ok: false, detail: NOT_RFC3339 };
  }
  if (i !== s.length) return { ok: false, detail: NOT_RFC3339 };

  if (month < 1 || month > 12) return { ok: false, detail: `month ${month} is out of range` };
  if (day < 1 || day > 31) return { ok: false, detail: `day ${day} is out of range` };
  if (day > daysInMonth(year, month)) {
    return { ok: false, detail: `day ${day} does not exist in ${MONTHS[month - 1]} ${year}` };
  }
  if (hour > 23) return { ok: false, detail: `hour ${hour} is out of range` };
  if (minute > 59) return { ok: false, detail: `minute ${minute} is out of range` };
  if (second === 60) return { ok: false, detail: "second 60 (a leap second) is not supported" };
  if (second > 59) return { ok: false, detail: `second ${second} is out of range` };

  const local = daysFromCivil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
  return { ok: true, seconds: local - offsetSeconds, micros };
}

/**
 * Parses an RFC 3339 date-time with a required offset into epoch microseconds
 * (fraction digits past the sixth truncated).
 */
export function parseRfc3339(raw: string): { ok: true; micros: EpochMicros } | { ok: false; detail: string } {
  const parts = parseParts(raw);
  if (!parts.ok) return parts;
  if (Math.abs(parts.seconds) > MAX_EXACT_SECONDS) {
    return { ok: false, detail: "too far from 1970 to hold at microsecond precision" };
  }
  return { ok: true, micros: parts.seconds * MICROS_PER_SECOND + parts.micros };
}

/**
 * Canonical RFC 3339 in UTC: "Z", and a fraction only as long as needed
 * ("2026-11-30T18:34:00Z", "2026-11-30T18:34:00.12Z", "2026-11-30T18:34:00.123457Z").
 */
export function formatTimestamp(micros: EpochMicros): string {
  if (!Number.isInteger(micros)) throw new RangeError(`formatTimestamp: not an integer: ${micros}`);
  // % is exact on doubles, and micros - frac is then a multiple of 10^6 that a double holds exactly.
  let frac = micros % MICROS_PER_SECOND;
  if (frac < 0) frac += MICROS_PER_SECOND;
  const seconds = (micros - frac) / MICROS_PER_SECOND;
  const days = Math.floor(seconds / SECONDS_PER_DAY);
  const secondOfDay = seconds - days * SECONDS_PER_DAY;
  const { year, month, day } = civilFromDays(days);
  const hh = Math.floor(secondOfDay / 3600);
  const mm = Math.floor((secondOfDay % 3600) / 60);
  const ss = secondOfDay % 60;
  let text = `${String(year).padStart(4, "0")}-${two(month)}-${two(day)}T${two(hh)}:${two(mm)}:${two(ss)}`;
  if (frac !== 0) text += "." + String(frac).padStart(6, "0").replace(/0+$/, "");
  return text + "Z";
}

/**
 * Validates an event's occurredAt against the server clock: present, an RFC 3339 timestamp with
 * an offset, not before 1970 and at most one hour ahead of `nowMicros` (exactly one hour is allowed).
 */
export function parseOccurredAt(raw: unknown, nowMicros: EpochMicros): Validated<EpochMicros> {
  // "" is what proto3 sends for an unset string field, so it means missing too.
  if (raw === undefined || raw === null || raw === "") {
    return { ok: false, code: "missing_occurred_at", reason: "missing occurredAt" };
  }
  if (typeof raw !== "string") return invalid("must be a string");
  const parts = parseParts(raw);
  if (!parts.ok) return invalid(parts.detail);
  if (parts.seconds < 0) return invalid("before 1970");
  // Seconds first: a year like 9999 is in the future, even though its microseconds are not exact.
  const limit = nowMicros + MAX_FUTURE_SKEW_MICROS;
  if (parts.seconds > MAX_EXACT_SECONDS) return invalid("more than 1 hour in the future");
  const micros = parts.seconds * MICROS_PER_SECOND + parts.micros;
  if (micros > limit) return invalid("more than 1 hour in the future");
  return { ok: true, value: micros };
}

function invalid(detail: string): Validated<EpochMicros> {
  return { ok: false, code: "invalid_occurred_at", reason: `invalid occurredAt: ${detail}` };
}
