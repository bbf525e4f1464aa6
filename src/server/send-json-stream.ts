// Reads a large JSON send body a chunk of events at a time, so the first rows are validated and
// on their way to the database while the rest of the body is still unparsed: JSON.parse of a
// 10 MB body (~0.1 s) would otherwise come before everything else.
//
// The reader handles the usual shape, `{"organizationId": ..., "eventType": ..., "events": [...]}`
// with `events` last. It checks the structure between the values itself and hands the members
// before `events` to JSON.parse one by one. An event in the usual form (plain strings, metadata in
// the compact form JSON.stringify writes) is read in place, its metadata kept as its own text;
// any other event goes to JSON.parse. So what it accepts, JSON.parse accepts. Anything else (another member after `events`, an escaped key, a
// malformed body) throws LazyBodyFallback, and the caller parses the whole body the usual way,
// which also gives a malformed body its usual error. A send that fails this way stored nothing:
// the call is atomic, so it can simply run again on the whole body.
import { MAX_EVENTS_PER_CALL, type EventStream } from "../domain/batch.js";
import type { RawEvent } from "../domain/types.js";
import { tooManyEvents } from "../service/send-lead-events.js";
import { CompactMetadataText, METADATA_MAX_DEPTH } from "../domain/metadata.js";
import { rawEventFromJson } from "./send-body.js";
import { compactObjectEnd, plainStringEnd } from "../domain/compact-json.js";

/** Below this size a body is parsed whole: reading lazily pays only for large batches. */
export const MIN_LAZY_BODY_CHARS = 256 * 1024;

/** The body is not in the shape this reader handles, or not valid JSON: parse it whole instead. */
export class LazyBodyFallback extends Error {
  constructor(detail: string) {
    super(`send body read whole: ${detail}`);
    this.name = "LazyBodyFallback";
  }
}

export interface LazySendBody {
  /** The members before `events`, as JSON.parse gives them. */
  envelope: Record<string, unknown>;
  events: EventStream;
}

// Member names the reader takes as they are: no escapes, nothing JSON.parse would read otherwise.
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const STRUCTURE = /["[\]{}]/g;

/** Opens a body for lazy reading, or null when it should be parsed whole. */
export function openLazySendBody(text: string, minChars = MIN_LAZY_BODY_CHARS): LazySendBody | null {
  if (text.length < minChars) return null;
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== 0x7b /* { */) return null;
  i = skipSpace(text, i + 1);
  const members: Array<[string, unknown]> = [];
  for (;;) {
    if (text.charCodeAt(i) !== 0x22 /* " */) return null;
    const nameEnd = stringEnd(text, i);
    if (nameEnd < 0) return null;
    const name = text.slice(i + 1, nameEnd);
    if (!PLAIN_NAME.test(name)) return null;
    i = skipSpace(text, nameEnd + 1);
    if (text.charCodeAt(i) !== 0x3a /* : */) return null;
    i = skipSpace(text, i + 1);
    if (name === "events") {
      if (text.charCodeAt(i) !== 0x5b /* [ */) return null;
      // Object.fromEntries defines own properties, "__proto__" included, as JSON.parse does.
      return { envelope: Object.fromEntries(members), events: new BodyEvents(text, i) };
    }
    const end = valueEnd(text, i);
    if (end < 0) return null;
    try {
      members.push([name, JSON.parse(text.slice(i, end))]);
    } catch {
      return null;
    }
    i = skipSpace(text, end);
    if (text.charCodeAt(i) !== 0x2c /* , */) return null;
    i = skipSpace(text, i + 1);
  }
}

class BodyEvents implements EventStream {
  /** `arrayStart` is the index of the events array's "[". */
  constructor(private readonly text: string, private readonly arrayStart: number) {}

  *chunks(size: number, firstSize = size): Generator<RawEvent[]> {
    const t = this.text;
    let i = skipSpace(t, this.arrayStart + 1);
    let count = 0;
    if (t.charCodeAt(i) === 0x5d /* ] */) {
      this.checkRest(i + 1);
      return;
    }
    for (;;) {
      const events: RawEvent[] = [];
      let closed = false;
      const limit = count === 0 ? firstSize : size;
      while (events.length < limit) {
        const last = readEvent(t, i, events);
        i = skipSpace(t, last);
        const c = t.charCodeAt(i);
        if (c === 0x2c /* , */) {
          i = skipSpace(t, i + 1);
          continue;
        }
        if (c !== 0x5d /* ] */) throw new LazyBodyFallback("no , or ] after an event");
        closed = true;
        i++;
        break;
      }
      count += events.length;
      if (count > MAX_EVENTS_PER_CALL) throw tooManyEvents(closed ? count.toLocaleString("en-US") : `${(count + this.countRest(i)).toLocaleString("en-US")}`);
      if (closed) this.checkRest(i);
      yield events;
      if (closed) return;
    }
  }

  /** After the events array: only the closing brace may follow. */
  private checkRest(i: number): void {
    const t = this.text;
    i = skipSpace(t, i);
    if (t.charCodeAt(i) !== 0x7d /* } */ || skipSpace(t, i + 1) !== t.length) throw new LazyBodyFallback("members after events");
  }

  /** How many more events follow position i (inside the array, after a comma), for the error message. */
  private countRest(i: number): number {
    const t = this.text;
    let n = 0;
    for (;;) {
      const end = valueEnd(t, i);
      if (end < 0) return n;
      n++;
      i = skipSpace(t, end);
      if (t.charCodeAt(i) !== 0x2c) return n;
      i = skipSpace(t, i + 1);
    }
  }
}

/**
 * Reads the event at t[i] onto `events` and returns the index after it. The usual event (plain
 * strings, canonical compact metadata) is read in place, its metadata kept as the text it came
 * in; any other is handed to JSON.parse, whose values the domain then judges as usual.
 */
function readEvent(t: string, i: number, events: RawEvent[]): number {
  const end = compactEventEnd(t, i, events);
  if (end >= 0) return end;
  const last = valueEnd(t, i);
  if (last < 0) throw new LazyBodyFallback("an event does not end");
  let parsed: unknown;
  try {
    parsed = JSON.parse(t.slice(i, last));
  } catch {
    throw new LazyBodyFallback("an event is not valid JSON");
  }
  events.push(rawEventFromJson(parsed));
  return last;
}

// The members an event is read in place with; any other member, or one of these twice, sends the
// event to JSON.parse (metadataJson is JSON text in a string, always escaped).
const Member = { Phone: 0, OccurredAt: 1, EventType: 2, Metadata: 3 } as const;
type Member = (typeof Member)[keyof typeof Member];
const MEMBERS: ReadonlyArray<readonly [string, Member]> = [
  ["phoneE164", Member.Phone],
  ["phone_e164", Member.Phone],
  ["occurredAt", Member.OccurredAt],
  ["occurred_at", Member.OccurredAt],
  ["eventType", Member.EventType],
  ["event_type", Member.EventType],
  ["metadata", Member.Metadata],
];

function memberAt(t: string, start: number, end: number): Member | -1 {
  const len = end - start;
  for (const [name, member] of MEMBERS) if (name.length === len && t.startsWith(name, start)) return member;
  return -1;
}

/**
 * An event object read in place: string members without escapes, metadata an object in
 * canonical compact form (see compact-json.ts) or null, whitespace only between the event's own
 * tokens. Pushes the event and returns the index after it, or returns -1 (nothing pushed).
 * The event has what rawEventFromJson would give for the same text, but its metadata as
 * CompactMetadataText.
 */
function compactEventEnd(t: string, i: number, events: RawEvent[]): number {
  if (t.charCodeAt(i) !== 0x7b /* { */) return -1;
  let phone: string | undefined;
  let occurredAt: string | undefined;
  let eventType: string | undefined;
  let metadata: CompactMetadataText | null | undefined;
  let seen = 0;
  i = skipSpace(t, i + 1);
  if (t.charCodeAt(i) === 0x7d /* } */) {
    events.push({ phoneE164: undefined, occurredAt: undefined, eventType: undefined, metadata: undefined });
    return i + 1;
  }
  for (;;) {
    if (t.charCodeAt(i) !== 0x22) return -1;
    const nameEnd = plainStringEnd(t, i);
    if (nameEnd < 0) return -1;
    const member = memberAt(t, i + 1, nameEnd);
    if (member === -1 || (seen & (1 << member)) !== 0) return -1;
    seen |= 1 << member;
    i = skipSpace(t, nameEnd + 1);
    if (t.charCodeAt(i) !== 0x3a /* : */) return -1;
    i = skipSpace(t, i + 1);
    if (member === Member.Metadata) {
      if (t.startsWith("null", i)) {
        metadata = null;
        i += 4;
      } else {
        const end = compactObjectEnd(t, i, METADATA_MAX_DEPTH - 1);
        if (end < 0) return -1;
        metadata = new CompactMetadataText(t.slice(i, end));
        i = end;
      }
    } else {
      if (t.charCodeAt(i) !== 0x22) return -1;
      const end = plainStringEnd(t, i);
      if (end < 0) return -1;
      const value = t.slice(i + 1, end);
      if (member === Member.Phone) phone = value;
      else if (member === Member.OccurredAt) occurredAt = value;
      else eventType = value;
      i = end + 1;
    }
    i = skipSpace(t, i);
    const c = t.charCodeAt(i);
    if (c === 0x7d /* } */) break;
    if (c !== 0x2c /* , */) return -1;
    i = skipSpace(t, i + 1);
  }
  events.push({ phoneE164: phone, occurredAt, eventType, metadata });
  return i + 1;
}

function skipSpace(t: string, i: number): number {
  for (;;) {
    const c = t.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

/** The index of the quote that closes the string opening at i, or -1. */
function stringEnd(t: string, i: number): number {
  let j = t.indexOf('"', i + 1);
  while (j > 0 && t.charCodeAt(j - 1) === 0x5c /* \ */) {
    let backslashes = 1;
    while (t.charCodeAt(j - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) break;
    j = t.indexOf('"', j + 1);
  }
  return j;
}

/**
 * Where the JSON value starting at i ends (exclusive), or -1: the structure only, brackets and
 * strings; JSON.parse checks the content.
 */
function valueEnd(t: string, i: number): number {
  const c = t.charCodeAt(i);
  if (c === 0x22) {
    const end = stringEnd(t, i);
    return end < 0 ? -1 : end + 1;
  }
  if (c === 0x7b || c === 0x5b) {
    let depth = 1;
    STRUCTURE.lastIndex = i + 1;
    while (depth > 0) {
      const m = STRUCTURE.exec(t);
      if (m === null) return -1;
      const d = t.charCodeAt(m.index);
      if (d === 0x22) {
        const end = stringEnd(t, m.index);
        if (end < 0) return -1;
        STRUCTURE.lastIndex = end + 1;
      } else if (d === 0x7b || d === 0x5b) {
        depth++;
      } else {
        depth--;
      }
    }
    return STRUCTURE.lastIndex;
  }
  let j = i;
  while (j < t.length) {
    const d = t.charCodeAt(j);
    if (d === 0x2c || d === 0x5d || d === 0x7d || d <= 0x20) break;
    j++;
  }
  return j > i ? j : -1;
}
