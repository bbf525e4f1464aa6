// Recognizes JSON text that is already in the form JSON.stringify would give it back, so that a
// large send body's metadata can be stored as the very text it arrived in: no object tree to
// build, walk, stringify and collect (those were about a third of a 50,000-event batch's CPU).
//
// "Canonical compact" here means: no whitespace between tokens; strings without any escape or
// control character and with every surrogate paired; numbers exactly as JavaScript prints them
// (so "1.0", "1e2", "-0" and out-of-range numbers are not); no key twice in one object, no key
// starting with a digit (JavaScript would list integer-like keys first), no key "__proto__";
// nesting within a limit. For such text, JSON.stringify(JSON.parse(text)) gives the same text
// back, so every write path stores the same text for the same object. Anything else makes these
// functions answer -1, and the caller parses it the usual way: they never accept text JSON.parse
// refuses, but they refuse much that it accepts.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

const PROTO_KEY = "__proto__";

/** Up to this many keys of an object, a repeat is found by comparing with each earlier key. */
const SEARCHED_KEYS = 16;

/** Key positions of the objects being scanned (start, end pairs), reused across calls. */
let keys = new Int32Array(256);

/**
 * The index just after the canonical compact JSON object that starts at text[i], or -1 when
 * there is none there (see above). Objects and arrays may nest `maxDepth` levels below it.
 */
export function compactObjectEnd(text: string, i: number, maxDepth: number): number {
  if (text.charCodeAt(i) !== OPEN_BRACE) return -1;
  return valueEnd(text, i, maxDepth, 0);
}

/** The index after the canonical compact JSON value at text[i], or -1. */
export function compactValueEnd(text: string, i: number, maxDepth: number): number {
  return valueEnd(text, i, maxDepth, 0);
}

/**
 * The index of the quote closing a string that opens at text[i] (which must be a quote) when the
 * string holds no escape, no control character and no lone surrogate; otherwise -1. Its value
 * is then exactly text.slice(i + 1, end), as JSON.parse would read it.
 */
export function plainStringEnd(text: string, i: number): number {
  const n = text.length;
  for (let j = i + 1; j < n; j++) {
    const c = text.charCodeAt(j);
    if (c === QUOTE) return j;
    if (c < 0x20 || c === BACKSLASH) return -1;
    if (c >= 0xd800 && c <= 0xdfff) {
      // A high surrogate followed by a low one is a character; anything else is not well-formed.
      if (c >= 0xdc00) return -1;
      const d = text.charCodeAt(j + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return -1;
      j++;
    }
  }
  return -1;
}

function valueEnd(t: string, i: number, maxDepth: number, keyBase: number): number {
  const c = t.charCodeAt(i);
  if (c === QUOTE) {
    const end = plainStringEnd(t, i);
    return end < 0 ? -1 : end + 1;
  }
  if (c === OPEN_BRACE) return maxDepth < 0 ? -1 : objectEnd(t, i, maxDepth, keyBase);
  if (c === OPEN_BRACKET) return maxDepth < 0 ? -1 : arrayEnd(t, i, maxDepth, keyBase);
  if (c === MINUS || (c >= ZERO && c <= NINE)) return numberEnd(t, i);
  if (t.startsWith("true", i)) return i + 4;
  if (t.startsWith("false", i)) return i + 5;
  if (t.startsWith("null", i)) return i + 4;
  return -1;
}

function objectEnd(t: string, i: number, maxDepth: number, keyBase: number): number {
  i++;
  if (t.charCodeAt(i) === CLOSE_BRACE) return i + 1;
  let count = 0;
  // Past a few keys, a repeat is looked up in a set: comparing each key with every earlier one
  // would make an object of many keys quadratic (20,000 keys took 4.7 s, found by the breaker pass).
  let seen: Set<string> | undefined;
  for (;;) {
    if (t.charCodeAt(i) !== QUOTE) return -1;
    const keyEnd = plainStringEnd(t, i);
    if (keyEnd < 0) return -1;
    // JavaScript lists integer-like keys first, so JSON.stringify of the parsed object would not
    // give this text back (any key starting with a digit, to be safe); "__proto__" is for
    // checkMetadata to refuse.
    const first = t.charCodeAt(i + 1);
    if ((first >= ZERO && first <= NINE) || (keyEnd - i - 1 === PROTO_KEY.length && t.startsWith(PROTO_KEY, i + 1))) return -1;
    if (seen !== undefined) {
      const key = t.slice(i + 1, keyEnd);
      if (seen.has(key)) return -1;
      seen.add(key);
    } else if (isRepeatedKey(t, i + 1, keyEnd, keyBase, count)) {
      return -1;
    } else if (count === SEARCHED_KEYS) {
      seen = new Set();
      for (let k = 0; k < count; k++) seen.add(t.slice(keys[keyBase + k * 2]!, keys[keyBase + k * 2 + 1]!));
      seen.add(t.slice(i + 1, keyEnd));
    }
    const slot = keyBase + count * 2;
    if (slot + 2 > keys.length) {
      if (keys.length >= 1 << 20) return -1; // absurdly many keys in flight: let JSON.parse have it
      const grown = new Int32Array(keys.length * 2);
      grown.set(keys);
      keys = grown;
    }
    keys[slot] = i + 1;
    keys[slot + 1] = keyEnd;
    count++;
    i = keyEnd + 1;
    if (t.charCodeAt(i) !== COLON) return -1;
    i = valueEnd(t, i + 1, maxDepth - 1, keyBase + count * 2);
    if (i < 0) return -1;
    const d = t.charCodeAt(i);
    if (d === CLOSE_BRACE) return i + 1;
    if (d !== COMMA) return -1;
    i++;
  }
}

/** Whether the key text[start, end) equals one of the `count` keys recorded from keyBase on. */
function isRepeatedKey(t: string, start: number, end: number, keyBase: number, count: number): boolean {
  const len = end - start;
  for (let k = 0; k < count; k++) {
    const s = keys[keyBase + k * 2]!;
    if (keys[keyBase + k * 2 + 1]! - s !== len) continue;
    let same = true;
    for (let m = 0; m < len; m++) {
      if (t.charCodeAt(s + m) !== t.charCodeAt(start + m)) {
        same = false;
        break;
      }
    }
    if (same) return true;
  }
  return false;
}

function arrayEnd(t: string, i: number, maxDepth: number, keyBase: number): number {
  i++;
  if (t.charCodeAt(i) === CLOSE_BRACKET) return i + 1;
  for (;;) {
    i = valueEnd(t, i, maxDepth - 1, keyBase);
    if (i < 0) return -1;
    const d = t.charCodeAt(i);
    if (d === CLOSE_BRACKET) return i + 1;
    if (d !== COMMA) return -1;
    i++;
  }
}

/**
 * A JSON number (RFC 8259 grammar) that JavaScript prints back the same. Integers of up to 15
 * digits are exact doubles and print as written; any other number is checked by printing it.
 */
function numberEnd(t: string, i: number): number {
  const start = i;
  if (t.charCodeAt(i) === MINUS) i++;
  const first = t.charCodeAt(i);
  if (first === ZERO) {
    i++;
  } else if (first > ZERO && first <= NINE) {
    while (isDigit(t.charCodeAt(i))) i++;
  } else {
    return -1;
  }
  let simple = i - start <= 15 && !(first === ZERO && t.charCodeAt(start) === MINUS);
  if (t.charCodeAt(i) === 0x2e /* . */) {
    simple = false;
    i++;
    if (!isDigit(t.charCodeAt(i))) return -1;
    while (isDigit(t.charCodeAt(i))) i++;
  }
  const e = t.charCodeAt(i);
  if (e === 0x65 || e === 0x45 /* e E */) {
    simple = false;
    i++;
    const sign = t.charCodeAt(i);
    if (sign === 0x2b || sign === MINUS) i++;
    if (!isDigit(t.charCodeAt(i))) return -1;
    while (isDigit(t.charCodeAt(i))) i++;
  }
  if (simple) return i;
  const text = t.slice(start, i);
  return String(Number(text)) === text ? i : -1;
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}
