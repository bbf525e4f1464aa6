// The campaign filter's rules, without the database: which filters are well formed, which
// instants count for a filter at a given send time, and how an audience as sent becomes the
// distinct normalized phones to look up plus the entries that are not phones at all.

import { checkEventType } from "./event-type.js";
import { MICROS_PER_MINUTE, parseRfc3339 } from "./timestamp.js";
import type { EpochMicros } from "./types.js";

/** The most audience entries one unary FilterAudience call takes; larger audiences stream. */
export const MAX_AUDIENCE_PER_CALL = 100_000;

/**
 * The most entries one FilterAudienceStream or FilterAudienceChunked takes. Both remember every
 * distinct phone of the stream (to decide each once), and FilterAudienceStream holds its whole
 * answer to the end, so an unbounded stream would be unbounded memory.
 */
export const MAX_AUDIENCE_PER_STREAM = 5_000_000;

/** FilterAudienceStream's one answer lists at most this many unparseable entries (audience_count still counts them). */
export const MAX_STREAM_UNPARSEABLE = 10_000;

export type FilterMode = "include" | "exclude";

/** A well-formed campaign filter. */
export interface EventFilterSpec {
  mode: FilterMode;
  /** Exact and case-sensitive: "Webinar_Attended" is not "webinar_attended". */
  eventType: string;
  /** Only events at most this many minutes before asOf count; undefined = any time up to asOf. */
  withinMinutes: number | undefined;
}

/** What the transport hands over; `mode` undefined stands for FILTER_MODE_UNSPECIFIED or a missing filter. */
export interface RawEventFilter {
  mode: FilterMode | undefined;
  eventType: string;
  withinMinutes: number | undefined;
}

/** A refusal with a stable UPPER_SNAKE reason, for the service to turn into INVALID_ARGUMENT. */
export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string; message: string };

/**
 * Checks a filter. An event type that no row has is fine (it matches nobody), but one that no row
 * can ever have (empty, edge white space, control characters, over 128 characters) is refused:
 * with EXCLUDE such a typo would silently keep the whole audience.
 */
export function checkEventFilter(raw: RawEventFilter | undefined): Checked<EventFilterSpec> {
  if (raw === undefined) return { ok: false, reason: "FILTER_MISSING", message: "filter is required: {mode, eventType, withinMinutes?}" };
  if (raw.mode !== "include" && raw.mode !== "exclude") {
    return { ok: false, reason: "FILTER_MODE_INVALID", message: "filter.mode must be FILTER_MODE_INCLUDE or FILTER_MODE_EXCLUDE" };
  }
  if (raw.eventType === "") return { ok: false, reason: "EVENT_TYPE_MISSING", message: "filter.eventType is required" };
  const type = checkEventType(raw.eventType);
  if (!type.ok) return { ok: false, reason: "EVENT_TYPE_INVALID", message: `filter.eventType is invalid: ${type.detail}` };
  const within = raw.withinMinutes;
  if (within !== undefined && (!Number.isSafeInteger(within) || within < 0)) {
    return { ok: false, reason: "WITHIN_MINUTES_INVALID", message: "filter.withinMinutes must be a whole number of minutes, 0 or more" };
  }
  return { ok: true, value: { mode: raw.mode, eventType: type.value, withinMinutes: within } };
}

/**
 * The send time: an RFC 3339 timestamp with an offset, or "" for now. An impossible date
 * (February 30, hour 24) is refused, never rolled over into the next day.
 */
export function resolveAsOf(raw: string, nowMicros: EpochMicros): Checked<EpochMicros> {
  if (raw === "") return { ok: true, value: nowMicros };
  const parsed = parseRfc3339(raw);
  if (!parsed.ok) return { ok: false, reason: "AS_OF_INVALID", message: `asOf is not an RFC 3339 timestamp with an offset: ${parsed.detail}` };
  return { ok: true, value: parsed.micros };
}

/** The instants that count, both ends inclusive. `from` null = no lower bound. */
export interface FilterWindow {
  from: EpochMicros | null;
  to: EpochMicros;
}

/**
 * Events count when from <= occurredAt <= to. Without a window, every event up to asOf counts;
 * with one, only those at most withinMinutes before asOf. withinMinutes 0 is a window of one
 * instant: only events exactly at asOf count. That is what "both ends inclusive" gives, and it is
 * distinguishable from "no window" because the field is optional on the wire.
 *
 * A lower bound before 1970 is dropped: no stored event is older (ingest refuses them), and
 * asOf - withinMinutes could otherwise leave the range a double holds exactly.
 */
export function filterWindow(asOf: EpochMicros, withinMinutes: number | undefined): FilterWindow {
  if (withinMinutes === undefined) return { from: null, to: asOf };
  const span = withinMinutes * MICROS_PER_MINUTE;
  return { from: span > asOf ? null : asOf - span, to: asOf };
}

/** Whether a filter keeps a phone, given whether the phone had a matching event. */
export function keeps(mode: FilterMode, hasEvent: boolean): boolean {
  return mode === "include" ? hasEvent : !hasEvent;
}

export interface ParsedAudience {
  /** The number of entries as sent, parseable or not. */
  count: number;
  /** Distinct normalized phones, in the order first seen. */
  phones: string[];
  /** Entries that are not phones, as sent and in order (repeats included), up to maxUnparseable. */
  unparseable: string[];
  /** All unparseable entries, listed or not. */
  unparseableCount: number;
}

/**
 * Splits an audience into the distinct phones to look up and the entries that are not phones.
 * `normalize` carries the organization's rules (default region, strict validity).
 */
export function parseAudience(
  entries: readonly unknown[],
  normalize: (raw: unknown) => string | null,
  maxUnparseable: number = Number.POSITIVE_INFINITY,
): ParsedAudience {
  const seen = new Set<string>();
  const unparseable: string[] = [];
  let unparseableCount = 0;
  for (const raw of entries) {
    const phone = normalize(raw);
    if (phone === null) {
      unparseableCount++;
      if (unparseable.length < maxUnparseable) unparseable.push(typeof raw === "string" ? raw : String(raw));
    } else {
      seen.add(phone);
    }
  }
  return { count: entries.length, phones: [...seen], unparseable, unparseableCount };
}

/** Code-unit order, the same in every process and locale (E.164 strings: "+" and digits). */
export function comparePhones(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
