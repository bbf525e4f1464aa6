// Reads a large JSON send body a chunk of events at a time, so the first rows are validated and
// on their way to the database while the rest of the body is still unparsed: JSON.parse of a
// 10 MB body (~0.1 s) would otherwise come before everything else.
//
// The reader handles the usual shape, `{"organizationId": ..., "eventType": ..., "events": [...]}`
// with `events` last. It checks the structure between the values itself and hands every value
// to JSON.parse (the members before `events` one by one, the events 2,000 at a time), so what it
// accepts, JSON.parse accepts. Anything else (another member after `events`, an escaped key, a
// malformed body) throws LazyBodyFallback, and the caller parses the whole body the usual way,
// which also gives a malformed body its usual error. A send that fails this way stored nothing:
// the call is atomic, so it can simply run again on the whole body.
import { MAX_EVENTS_PER_CALL, type EventStream } from "../domain/batch.js";
import type { RawEvent } from "../domain/types.js";
import { tooManyEvents } from "../service/send-lead-events.js";
import { rawEventFromJson } from "./send-body.js";

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
      const first = i;
      let last = i;
      let n = 0;
      let closed = false;
      const limit = count === 0 ? firstSize : size;
      while (n < limit) {
        last = valueEnd(t, i);
        if (last < 0) throw new LazyBodyFallback("an event does not end");
        n++;
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
      count += n;
      if (count > MAX_EVENTS_PER_CALL) throw tooManyEvents(closed ? count.toLocaleString("en-US") : `${(count + this.countRest(i)).toLocaleString("en-US")}`);
      let parsed: unknown[];
      try {
        parsed = JSON.parse(`[${t.slice(first, last)}]`) as unknown[];
      } catch {
        throw new LazyBodyFallback("an event is not valid JSON");
      }
      const events = new Array<RawEvent>(parsed.length);
      for (let k = 0; k < parsed.length; k++) events[k] = rawEventFromJson(parsed[k]);
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
