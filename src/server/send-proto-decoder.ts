// SendLeadEventsRequest protobuf bytes -> the service's SendInput, without building protobuf-es
// messages: a 50,000-event batch with google.protobuf.Value metadata costs ~1.2 s through
// fromBinary + toJson, most of it allocating Value/Struct messages only to turn them into JSON.
//
// The values are exactly those of sendInputFromProto(fromBinary(bytes)) (src/rpc/mapping.ts), and
// the decoder fails exactly where fromBinary throws. That includes protobuf-es's own ways:
// - a known field is read as its declared type whatever the wire type says;
// - a sub-message may read past its declared length (only the buffer's end is checked);
// - a map entry ignores, without skipping, fields other than key (1) and value (2);
// - a singular message field seen twice is merged (a Struct gains keys, a ListValue items);
// - strings must be valid UTF-8 (proto3); a leading U+FEFF is kept, as it is by every protobuf
//   decoding in this process (src/rpc/protobuf-text.ts) and by JSON;
// - messages nest at most 100 deep, counting the request itself.
// Two deliberate differences, so that binary metadata means what the same JSON means: a Struct
// key "__proto__" is an ordinary key (protobuf-es's plain object would take it as its prototype
// and lose it), and metadata nested past that limit rejects its row (as over JSON: "nested
// deeper than 32 levels") instead of failing the whole call.
// Metadata in the usual shape (a Struct of plain values, each map entry key then value, no key
// repeated, no key JavaScript would reorder, strings without characters JSON escapes) is written
// straight to its compact JSON text while it is read, the text JSON.stringify would make of the
// decoded object: no object tree, no stringify. Past the size limit it is only counted (the
// order of keys does not matter then). Anything else is read again the general way.
// test/server/send-proto-decoder.test.ts checks all this against protobuf-es on generated and
// fuzzed messages. Pure: no I/O.
import { Buffer } from "node:buffer";
import { AppError } from "../domain/errors.js";
import { CompactMetadataText, EMPTY_VALUE_DETAIL, METADATA_MAX_BYTES, METADATA_MAX_DEPTH, OversizedMetadata, UnrepresentableMetadata } from "../domain/metadata.js";
import { MAX_EVENTS_PER_CALL, type EventStream } from "../domain/batch.js";
import type { RawEvent } from "../domain/types.js";
import { parseOrganizationId } from "../service/auth.js";
import { tooManyEvents } from "../service/send-lead-events.js";
import type { SendInput } from "../service/send-lead-events.js";

/**
 * The request as decoded; organizationId is still the raw int64 (validated by sendInputOf).
 * With more than MAX_EVENTS_PER_CALL events, `events` is a stream that refuses the call as too
 * many when read (after the caller's authorization, as for any stream).
 */
export interface DecodedSendRequest {
  organizationId: bigint;
  eventType: string;
  events: RawEvent[] | EventStream;
  validateOnly: boolean;
}

/** A request whose events are decoded only as they are taken, chunk by chunk (see openLazySendRequest). */
export interface LazySendRequest {
  organizationId: bigint;
  eventType: string;
  events: EventStream;
  validateOnly: boolean;
}

/** The SendInput of a decoded request; a negative or oversized organizationId is INVALID_ARGUMENT. */
export function sendInputOf(req: DecodedSendRequest | LazySendRequest): SendInput {
  return { organizationId: parseOrganizationId(req.organizationId), eventType: req.eventType, events: req.events, validateOnly: req.validateOnly };
}

/** Below this size a message is decoded whole: decoding lazily pays only for large batches. */
export const MIN_LAZY_MESSAGE_BYTES = 256 * 1024;

/**
 * The lazy reading met what only the whole-message decoding may decide: malformed bytes, or an
 * event whose fields run past its declared length (protobuf-es reads on). The caller decodes the
 * message whole (decodeSendRequest) and goes by that, error or not.
 */
export class LazyDecodeFallback extends Error {
  constructor(detail: string) {
    super(`send message decoded whole: ${detail}`);
    this.name = "LazyDecodeFallback";
  }
}

/**
 * Opens a large SendLeadEventsRequest for lazy decoding, as the JSON route reads a large body:
 * the top level is scanned first (every scalar field, whatever its position, with the last
 * occurrence winning as in decodeSendRequest; each event's byte range), and the events are
 * decoded a chunk at a time while the previous chunk is being written, instead of all 50,000
 * before the first row goes out. Null when the message is small or malformed at the top level;
 * with more events than a call takes, reading the events refuses the call. Each event is
 * decoded exactly as decodeSendRequest decodes it; anything it could not decode the same way
 * throws LazyDecodeFallback from chunks().
 */
export function openLazySendRequest(bytes: Uint8Array, minBytes = MIN_LAZY_MESSAGE_BYTES): LazySendRequest | null {
  if (bytes.byteLength < minBytes) return null;
  const reader = new WireReader(bytes);
  let scan;
  try {
    scan = reader.scanRequest();
  } catch (err) {
    if (err instanceof MalformedWire || err instanceof LazyDecodeFallback) return null;
    throw err;
  }
  if (scan.count > MAX_EVENTS_PER_CALL) return { ...scan, events: tooManyEventsStream(scan.count) };
  const { starts, ends } = scan;
  const events: EventStream = {
    *chunks(size: number, firstSize = size): Generator<RawEvent[]> {
      for (let i = 0, n = firstSize; i < starts.length; i += n, n = size) {
        const last = Math.min(starts.length, i + n);
        const chunk: RawEvent[] = new Array(last - i);
        for (let k = i; k < last; k++) chunk[k - i] = reader.eventAt(starts[k]!, ends[k]!);
        yield chunk;
      }
    },
  };
  return { organizationId: scan.organizationId, eventType: scan.eventType, events, validateOnly: scan.validateOnly };
}

/** The events of a message that holds more than a call takes: reading them refuses the call. */
function tooManyEventsStream(count: number): EventStream {
  return {
    // eslint-disable-next-line require-yield
    *chunks(): Generator<RawEvent[]> {
      throw tooManyEvents(count.toLocaleString("en-US"));
    },
  };
}

/** Decodes SendLeadEventsRequest bytes; malformed bytes are INVALID_ARGUMENT saying what and where. */
export function decodeSendRequest(bytes: Uint8Array): DecodedSendRequest {
  const reader = new WireReader(bytes);
  try {
    return reader.request();
  } catch (err) {
    if (err instanceof MalformedWire) {
      throw new AppError("invalid_argument", "PROTOBUF_INVALID", `the request is not a valid leadevents.v1.SendLeadEventsRequest: ${err.message} at byte ${err.offset}`);
    }
    throw err;
  }
}

class MalformedWire extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

/** Messages nested past MAX_DEPTH. */
class NestedTooDeep extends MalformedWire {}

// protobuf-es's default recursion limit (makeReadContext).
const MAX_DEPTH = 100;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;

/** A google.protobuf.Value whose kind was never set: toJson refuses it. */
const EMPTY_VALUE: unique symbol = Symbol("empty google.protobuf.Value");
type Decoded = null | number | string | boolean | DecodedObject | Decoded[] | typeof EMPTY_VALUE;
interface DecodedObject {
  [key: string]: Decoded;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const KEY_CACHE_SIZE = 256;
const MAX_CACHED_KEY = 32;

/** Up to this many keys of a struct, a repeat is found by comparing with each earlier key. */
const SEARCHED_KEYS = 8;

/** Buffer's latin1Slice (undocumented in @types/node): the cheapest way to make a string of ASCII bytes. */
interface Latin1Buffer extends Buffer {
  latin1Slice(start: number, end: number): string;
}

class WireReader {
  private pos = 0;
  private readonly len: number;
  private readonly buf: Latin1Buffer;
  private readonly view: DataView;
  private readonly keys: (string | undefined)[] = new Array(KEY_CACHE_SIZE);
  /** Set when the current event's metadata may hold an empty Value (NaN and Infinity stay in the
   * value: checkMetadata refuses them as it refuses 1e400 sent as JSON). */
  private suspect = false;
  private field = 0;
  private wire = 0;

  constructor(bytes: Uint8Array) {
    this.buf = (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) as Latin1Buffer;
    this.len = bytes.byteLength;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private fail(message: string): never {
    throw new MalformedWire(message, Math.min(this.pos, this.len));
  }

  /** leadevents.v1.SendLeadEventsRequest, the whole buffer, depth 1. */
  request(): DecodedSendRequest {
    const events: RawEvent[] = [];
    let count = 0;
    const top = this.topLevel(() => {
      // Past the cap events are only counted and skipped: the call will be refused as too many,
      // and a message of millions of tiny events costs no more than a scan (no objects).
      if (++count > MAX_EVENTS_PER_CALL) this.skipEvent();
      else events.push(this.leadEvent(2));
    });
    return { ...top, events: count > MAX_EVENTS_PER_CALL ? tooManyEventsStream(count) : events };
  }

  /**
   * The top level only, read as request() reads it, except that each event (field 3) is only
   * located: where its length prefix starts and where its declared length ends. Throws
   * LazyDecodeFallback when an event field is not length-delimited or its length runs past the
   * message.
   */
  scanRequest(): { organizationId: bigint; eventType: string; validateOnly: boolean; count: number; starts: number[]; ends: number[] } {
    const starts: number[] = [];
    const ends: number[] = [];
    let count = 0;
    const top = this.topLevel(() => {
      if (this.wire !== WIRE_LENGTH) throw new LazyDecodeFallback(`an event field with wire type ${this.wire}`);
      const start = this.pos;
      const length = this.uint32();
      if (length > this.len - this.pos) throw new LazyDecodeFallback(`the event at byte ${start} runs past the message`);
      // Past the cap only counted (the call is refused as too many).
      if (++count <= MAX_EVENTS_PER_CALL) {
        starts.push(start);
        ends.push(this.pos + length);
      }
      this.pos += length;
    });
    return { ...top, count, starts, ends };
  }

  /** The request's fields, the last occurrence of each winning; `event` reads each event (field 3). */
  private topLevel(event: () => void): { organizationId: bigint; eventType: string; validateOnly: boolean } {
    const out = { organizationId: 0n, eventType: "", validateOnly: false };
    while (this.pos < this.len) {
      this.tag();
      switch (this.field) {
        case 1:
          out.organizationId = this.int64();
          break;
        case 2:
          out.eventType = this.string();
          break;
        case 3:
          event();
          break;
        case 4:
          out.validateOnly = this.bool();
          break;
        default:
          this.skip(this.wire, this.field, MAX_DEPTH - 1);
      }
    }
    return out;
  }

  /**
   * Moves past an event without decoding it, framed as leadEvent() frames it: a length prefix
   * whatever the wire type says (as protobuf-es reads a message field), then that many bytes.
   */
  private skipEvent(): void {
    const length = this.uint32();
    if (length > this.len - this.pos) this.fail("an event runs past the end of the message");
    this.pos += length;
  }

  /** The event whose length prefix is at `start` (see scanRequest), as request() decodes it. */
  eventAt(start: number, end: number): RawEvent {
    this.pos = start;
    let event: RawEvent;
    try {
      event = this.leadEvent(2);
    } catch (err) {
      if (err instanceof MalformedWire) throw new LazyDecodeFallback(`${err.message} at byte ${err.offset}`);
      throw err;
    }
    if (this.pos !== end) throw new LazyDecodeFallback(`the event at byte ${start} runs past its length`);
    return event;
  }

  /** The length prefix of a sub-message at `depth`, and where it ends. */
  private enter(depth: number): number {
    const length = this.uint32();
    if (depth > MAX_DEPTH) throw new NestedTooDeep(`messages nested deeper than ${MAX_DEPTH} levels`, Math.min(this.pos, this.len));
    return this.pos + length;
  }

  private leadEvent(depth: number, compactMetadata = true): RawEvent {
    const start = this.pos;
    const end = this.enter(depth);
    let phoneE164 = "";
    let occurredAt = "";
    let eventType: string | undefined;
    let metadataJson = "";
    let metadata: Decoded | CompactMetadataText | OversizedMetadata = EMPTY_VALUE;
    let hasMetadata = false;
    let tooDeep: UnrepresentableMetadata | undefined;
    this.suspect = false;
    while (this.pos < end) {
      this.tag();
      switch (this.field) {
        case 1:
          phoneE164 = this.string();
          break;
        case 2:
          occurredAt = this.string();
          break;
        case 3:
          if (metadata instanceof CompactMetadataText || metadata instanceof OversizedMetadata) {
            // A repeated metadata field merges into the first: that needs the decoded object.
            this.pos = start;
            return this.leadEvent(depth, false);
          }
          if (compactMetadata && !hasMetadata) {
            const read = this.compactMetadata(depth + 1);
            if (read !== undefined) {
              metadata = read;
              hasMetadata = true;
              break;
            }
          }
          if (tooDeep !== undefined) {
            this.skip(this.wire, this.field, MAX_DEPTH - depth);
            break;
          }
          hasMetadata = true;
          {
            const fieldStart = this.pos;
            try {
              metadata = this.value(depth + 1, metadata);
            } catch (err) {
              if (!(err instanceof NestedTooDeep)) throw err;
              tooDeep = this.skipMetadata(fieldStart, err);
            }
          }
          break;
        case 4:
          eventType = this.string();
          break;
        case 5:
          metadataJson = this.string();
          break;
        default:
          this.skip(this.wire, this.field, MAX_DEPTH - depth);
      }
    }
    return {
      phoneE164,
      occurredAt,
      eventType,
      metadata: !hasMetadata ? undefined : (tooDeep ?? (metadata instanceof CompactMetadataText || metadata instanceof OversizedMetadata ? metadata : this.suspect && hasEmptyValue(metadata) ? new UnrepresentableMetadata(EMPTY_VALUE_DETAIL) : metadata)),
      metadataJson,
    };
  }

  /**
   * After metadata nested past the message limit: the position moves to the end of the metadata
   * field (its length prefix is at fieldStart), and the row is rejected like too deep JSON.
   */
  private skipMetadata(fieldStart: number, err: NestedTooDeep): UnrepresentableMetadata {
    this.pos = fieldStart;
    const length = this.uint32();
    if (this.pos + length > this.len) throw err;
    this.pos += length;
    return new UnrepresentableMetadata(`nested deeper than ${METADATA_MAX_DEPTH} levels`);
  }

  /**
   * The metadata Value at the current field as compact JSON text, when it is a Struct in the
   * usual shape (see the file's head); otherwise undefined, with the position unchanged, and the
   * caller reads it the general way (which also gives malformed bytes their error). The text is
   * assembled as bytes in a scratch buffer and made a string once: concatenating the pieces
   * would leave a tree of string fragments for every write of it to flatten. Text longer than
   * the limit is only counted, to the end: its exact size is the row's reject reason.
   */
  private compactMetadata(depth: number): CompactMetadataText | OversizedMetadata | undefined {
    const start = this.pos;
    try {
      const end = this.enter(depth);
      if (this.pos < end) {
        this.tag();
        if (this.field === 5 && this.wire === WIRE_LENGTH) {
          this.outLen = 0;
          this.outAscii = true;
          this.reordered = false;
          if (this.structText(depth + 1, 0) && this.pos === end) {
            // The size does not depend on the order of the keys; the text does.
            if (this.outLen > this.out.length) return new OversizedMetadata(this.outLen);
            if (!this.reordered) return new CompactMetadataText(this.outAscii ? this.out.latin1Slice(0, this.outLen) : this.out.utf8Slice(0, this.outLen));
          }
        }
      }
    } catch (err) {
      if (!(err instanceof MalformedWire)) throw err;
    }
    this.pos = start;
    return undefined;
  }

  /** Appends a Value's JSON text; false when it is not in the usual shape (one kind, finite, plain). */
  private valueText(depth: number, jsonDepth: number): boolean {
    const end = this.enter(depth);
    if (this.pos >= end) return false; // no kind: toJson refuses it
    this.tag();
    let ok: boolean;
    switch (this.field) {
      case 1:
        if (this.wire !== WIRE_VARINT) return false;
        this.uint32();
        this.putAscii("null");
        ok = true;
        break;
      case 2: {
        if (this.wire !== WIRE_FIXED64) return false;
        const v = this.double();
        if (!Number.isFinite(v)) return false;
        this.putNumber(v);
        ok = true;
        break;
      }
      case 3:
        if (this.wire !== WIRE_LENGTH) return false;
        ok = this.stringText();
        break;
      case 4:
        if (this.wire !== WIRE_VARINT) return false;
        this.putAscii(this.bool() ? "true" : "false");
        ok = true;
        break;
      case 5:
        if (this.wire !== WIRE_LENGTH) return false;
        ok = this.structText(depth + 1, jsonDepth + 1);
        break;
      case 6:
        if (this.wire !== WIRE_LENGTH) return false;
        ok = this.listText(depth + 1, jsonDepth + 1);
        break;
      default:
        return false;
    }
    // Exactly one field, ending where the message says it ends.
    return ok && this.pos === end;
  }

  /** Appends a Struct's JSON text (its map entries in wire order); false when not usual. */
  private structText(depth: number, jsonDepth: number): boolean {
    if (jsonDepth >= METADATA_MAX_DEPTH) return false;
    const end = this.enter(depth);
    this.putByte(0x7b /* { */);
    // This struct's keys, as byte ranges of the message (no strings made), from keyBase on in
    // keyRanges; nested structs use the ranges after them.
    const keyBase = this.keyTop;
    let count = 0;
    let keySet: Set<string> | undefined; // past a few keys, a repeat is looked up rather than searched
    try {
      while (this.pos < end) {
        this.tag();
        if (this.field !== 1 || this.wire !== WIRE_LENGTH) return false;
        const entryLength = this.uint32(); // first: `this.pos + this.uint32()` would add to the old pos
        const entryEnd = this.pos + entryLength;
        this.tag();
        if (this.field !== 1 || this.wire !== WIRE_LENGTH) return false;
        const keyStart = this.span();
        const keyEnd = this.pos;
        if (count > 0) this.putByte(0x2c /* , */);
        if (!this.quotedText(keyStart, keyEnd)) return false;
        // "__proto__" goes the general way, where checkMetadata refuses it.
        if (keyEnd - keyStart === 9 && this.buf.latin1Slice(keyStart, keyEnd) === "__proto__") return false;
        this.putByte(0x3a /* : */);
        // JavaScript puts integer-like keys first: the object's order would differ from the wire's.
        if (keyEnd > keyStart && this.buf[keyStart]! >= 0x30 && this.buf[keyStart]! <= 0x39) this.reordered = true;
        // A repeated key keeps its first place with its last value: not the wire's text either.
        if (keySet !== undefined) {
          const key = this.buf.latin1Slice(keyStart, keyEnd); // bytes as a string, just for equality
          if (keySet.has(key)) return false;
          keySet.add(key);
        } else if (this.repeatsKey(keyBase, count, keyStart, keyEnd)) {
          return false;
        } else if (count === SEARCHED_KEYS) {
          keySet = new Set();
          for (let k = 0; k < count; k++) keySet.add(this.buf.latin1Slice(this.keyRanges[keyBase + 2 * k]!, this.keyRanges[keyBase + 2 * k + 1]!));
          keySet.add(this.buf.latin1Slice(keyStart, keyEnd));
        } else {
          this.recordKey(keyBase + 2 * count, keyStart, keyEnd);
        }
        count++;
        this.tag();
        // tag() has moved on; TypeScript still narrows this.field to 1 from the check above.
        if ((this.field as number) !== 2 || this.wire !== WIRE_LENGTH) return false;
        this.keyTop = keyBase + 2 * Math.min(count, SEARCHED_KEYS);
        if (!this.valueText(depth + 1, jsonDepth) || this.pos !== entryEnd) return false;
      }
    } finally {
      this.keyTop = keyBase;
    }
    this.putByte(0x7d /* } */);
    return this.pos === end;
  }

  /** Whether bytes [start, end) equal one of the `count` keys recorded from keyBase on. */
  private repeatsKey(keyBase: number, count: number, start: number, end: number): boolean {
    const ranges = this.keyRanges;
    const buf = this.buf;
    const length = end - start;
    for (let k = 0; k < count; k++) {
      const s = ranges[keyBase + 2 * k]!;
      if (ranges[keyBase + 2 * k + 1]! - s !== length) continue;
      let i = 0;
      while (i < length && buf[s + i] === buf[start + i]) i++;
      if (i === length) return true;
    }
    return false;
  }

  private recordKey(slot: number, start: number, end: number): void {
    if (slot + 2 > this.keyRanges.length) {
      const grown = new Int32Array(this.keyRanges.length * 2);
      grown.set(this.keyRanges);
      this.keyRanges = grown;
    }
    this.keyRanges[slot] = start;
    this.keyRanges[slot + 1] = end;
  }

  /** Appends a ListValue's JSON text; false when not usual. */
  private listText(depth: number, jsonDepth: number): boolean {
    if (jsonDepth >= METADATA_MAX_DEPTH) return false;
    const end = this.enter(depth);
    this.putByte(0x5b /* [ */);
    let first = true;
    while (this.pos < end) {
      this.tag();
      if (this.field !== 1 || this.wire !== WIRE_LENGTH) return false;
      if (!first) this.putByte(0x2c /* , */);
      first = false;
      if (!this.valueText(depth + 1, jsonDepth)) return false;
    }
    this.putByte(0x5d /* ] */);
    return this.pos === end;
  }

  /** Appends a string value as JSON text; false when JSON would escape a character of it. */
  private stringText(): boolean {
    const start = this.span();
    return this.quotedText(start, this.pos);
  }

  /**
   * Appends the UTF-8 string at bytes [start, end) in quotes, copied as it is; false when JSON
   * would escape a character of it. Non-ASCII text is first checked by the strict decoding the
   * general way uses (it fails where that fails); valid UTF-8 re-encodes to the same bytes.
   */
  private quotedText(start: number, end: number): boolean {
    const buf = this.buf;
    let ascii = true;
    // JSON escapes control characters, quotes and backslashes; bytes of multi-byte UTF-8 are >= 0x80.
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c < 0x20 || c === 0x22 || c === 0x5c) return false;
      if (c >= 0x80) ascii = false;
    }
    if (!ascii) {
      this.utf8(start, end);
      this.outAscii = false;
    }
    this.putByte(0x22);
    const length = end - start;
    if (this.outLen + length <= this.out.length) {
      if (length > 32) {
        buf.copy(this.out, this.outLen, start, end);
      } else {
        const out = this.out;
        let n = this.outLen;
        for (let i = start; i < end; i++) out[n++] = buf[i]!;
      }
    }
    this.outLen += length;
    this.putByte(0x22);
    return true;
  }

  // The scratch buffer, as long as the longest metadata allowed. outLen counts every byte of the
  // text, also past the buffer's end (where nothing more is written: the metadata is too large).
  private readonly out = Buffer.allocUnsafe(METADATA_MAX_BYTES) as Latin1Buffer & { utf8Slice(start: number, end: number): string };
  private outLen = 0;
  private outAscii = true;
  /** Key byte ranges (start, end) of the structs being written, see structText. */
  private keyRanges = new Int32Array(64);
  private keyTop = 0;
  /** A key JavaScript may order before the others was written (only its size can be used). */
  private reordered = false;

  private putByte(b: number): void {
    if (this.outLen < this.out.length) this.out[this.outLen] = b;
    this.outLen++;
  }

  /** JSON.stringify's text for a finite number (-0 is "0"); small integers without a string. */
  private putNumber(v: number): void {
    if (!Number.isInteger(v) || v <= -1e15 || v >= 1e15) return this.putAscii(String(v));
    if (v < 0) {
      this.putByte(0x2d /* - */);
      v = -v;
    }
    let digits = 1;
    for (let p = 10; p <= v; p *= 10) digits++;
    if (this.outLen + digits <= this.out.length) {
      for (let i = digits - 1; i >= 0; i--) {
        this.out[this.outLen + i] = 0x30 + (v % 10);
        v = Math.floor(v / 10);
      }
    }
    this.outLen += digits;
  }

  private putAscii(text: string): void {
    if (this.outLen + text.length <= this.out.length) {
      for (let i = 0; i < text.length; i++) this.out[this.outLen + i] = text.charCodeAt(i);
    }
    this.outLen += text.length;
  }



  /**
   * google.protobuf.Value as its JSON value, merged into `into` (what the same field held
   * before, EMPTY_VALUE for a fresh message) the way protobuf-es merges a repeated message field.
   */
  private value(depth: number, into: Decoded): Decoded {
    const end = this.enter(depth);
    let v = into;
    while (this.pos < end) {
      this.tag();
      switch (this.field) {
        case 1: // null_value: any enum number
          this.uint32();
          v = null;
          break;
        case 2:
          v = this.double();
          break;
        case 3:
          v = this.string();
          break;
        case 4:
          v = this.bool();
          break;
        case 5:
          v = this.struct(depth + 1, isObject(v) ? v : {});
          break;
        case 6:
          v = this.list(depth + 1, Array.isArray(v) ? v : []);
          break;
        default:
          this.skip(this.wire, this.field, MAX_DEPTH - depth);
      }
    }
    if (v === EMPTY_VALUE) this.suspect = true;
    return v;
  }

  /** google.protobuf.Struct: map<string, Value> fields = 1. */
  private struct(depth: number, into: DecodedObject): DecodedObject {
    const end = this.enter(depth);
    while (this.pos < end) {
      this.tag();
      if (this.field === 1) this.structEntry(depth, into);
      else this.skip(this.wire, this.field, MAX_DEPTH - depth);
    }
    return into;
  }

  /** One map entry: not a message of its own (no depth), unknown fields read as tags (protobuf-es's readMapEntry). */
  private structEntry(depth: number, into: DecodedObject): void {
    const length = this.uint32();
    const end = this.pos + length;
    let key = "";
    let val: Decoded = EMPTY_VALUE;
    while (this.pos < end) {
      this.tag();
      if (this.field === 1) key = this.key();
      else if (this.field === 2) val = this.value(depth + 1, EMPTY_VALUE);
    }
    if (val === EMPTY_VALUE) this.suspect = true;
    // Assigning "__proto__" would set the object's prototype: it is defined as an own key, as
    // JSON.parse does.
    if (key === "__proto__") Object.defineProperty(into, key, { value: val, enumerable: true, writable: true, configurable: true });
    else into[key] = val;
  }

  /** google.protobuf.ListValue: repeated Value values = 1. */
  private list(depth: number, into: Decoded[]): Decoded[] {
    const end = this.enter(depth);
    while (this.pos < end) {
      this.tag();
      if (this.field === 1) into.push(this.value(depth + 1, EMPTY_VALUE));
      else this.skip(this.wire, this.field, MAX_DEPTH - depth);
    }
    return into;
  }

  // ---- wire primitives, each failing where protobuf-es's BinaryReader throws ----

  private tag(): void {
    const start = this.pos;
    const tag = this.uint32();
    const read = this.pos - start;
    if (read > 5 || (read === 5 && this.buf[this.pos - 1]! > 0x0f)) {
      this.pos = start;
      this.fail("invalid tag (varint overflows uint32)");
    }
    this.field = tag >>> 3;
    this.wire = tag & 7;
    if (this.field <= 0 || this.wire > 5) {
      this.pos = start;
      this.fail(`invalid tag (field number ${this.field}, wire type ${this.wire})`);
    }
  }

  /** A varint's low 32 bits, unsigned; at most 10 bytes. */
  private uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos >= this.len) this.fail("unexpected end of data");
    let b = buf[pos++]!;
    if (b < 0x80) {
      this.pos = pos;
      return b;
    }
    let result = b & 0x7f;
    for (let i = 1; i < 10; i++) {
      if (pos >= this.len) this.fail("unexpected end of data");
      b = buf[pos++]!;
      if (i < 4) result |= (b & 0x7f) << (7 * i);
      else if (i === 4) result |= (b & 0x0f) << 28;
      if (b < 0x80) {
        this.pos = pos;
        return result >>> 0;
      }
    }
    this.pos = pos;
    return this.fail("invalid varint");
  }

  /** A full 64-bit varint as [low, high] 32-bit halves (protobuf-es's varint64read). */
  private varint64(): [number, number] {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    let b: number;
    for (let shift = 0; shift < 28; shift += 7) {
      if (this.pos >= this.len) this.fail("unexpected end of data");
      b = buf[this.pos++]!;
      lo |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return [lo, hi];
    }
    if (this.pos >= this.len) this.fail("unexpected end of data");
    b = buf[this.pos++]!;
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x70) >> 4;
    if ((b & 0x80) === 0) return [lo, hi];
    for (let shift = 3; shift <= 31; shift += 7) {
      if (this.pos >= this.len) this.fail("unexpected end of data");
      b = buf[this.pos++]!;
      hi |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return [lo, hi];
    }
    return this.fail("invalid varint");
  }

  private int64(): bigint {
    const [lo, hi] = this.varint64();
    return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
  }

  private bool(): boolean {
    const [lo, hi] = this.varint64();
    return lo !== 0 || hi !== 0;
  }

  private double(): number {
    if (this.pos + 8 > this.len) this.fail("unexpected end of data");
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A length-delimited field's bytes: advances past them and returns where they start. */
  private span(): number {
    const length = this.uint32();
    const start = this.pos;
    if (start + length > this.len) this.fail("unexpected end of data");
    this.pos = start + length;
    return start;
  }

  private string(): string {
    const start = this.span();
    return this.text(start, this.pos);
  }

  /**
   * A Struct key. The same few keys repeat in every event of a batch: one string per key
   * (already internalized as a property name) instead of one per occurrence.
   */
  private key(): string {
    const start = this.span();
    const end = this.pos;
    const length = end - start;
    if (length > MAX_CACHED_KEY) return this.text(start, end);
    const buf = this.buf;
    let hash = length;
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c >= 0x80) return this.utf8(start, end);
      hash = (hash * 31 + c) | 0;
    }
    const slot = hash & (KEY_CACHE_SIZE - 1);
    const cached = this.keys[slot];
    if (cached !== undefined && cached.length === length) {
      let same = true;
      for (let i = 0; i < length; i++) {
        if (cached.charCodeAt(i) !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return cached;
    }
    return (this.keys[slot] = buf.latin1Slice(start, end));
  }

  /** ASCII is copied as is; anything else goes through the strict TextDecoder protobuf-es uses. */
  private text(start: number, end: number): string {
    const buf = this.buf;
    for (let i = start; i < end; i++) if (buf[i]! >= 0x80) return this.utf8(start, end);
    return buf.latin1Slice(start, end);
  }

  private utf8(start: number, end: number): string {
    try {
      return strictUtf8.decode(this.buf.subarray(start, end));
    } catch {
      this.pos = start;
      return this.fail("a string field is not valid UTF-8");
    }
  }

  /** Skips an unknown field (protobuf-es's BinaryReader.skip, groups included). */
  private skip(wire: number, field: number, recursionLimit: number): void {
    switch (wire) {
      case WIRE_VARINT:
        // No 10-byte limit here, as in protobuf-es: runs to the first byte without the high bit.
        for (;;) {
          if (this.pos >= this.len) this.fail("unexpected end of data");
          if ((this.buf[this.pos++]! & 0x80) === 0) break;
        }
        break;
      case WIRE_FIXED64:
        this.pos += 8;
        break;
      case WIRE_FIXED32:
        this.pos += 4;
        break;
      case WIRE_LENGTH: {
        const length = this.uint32(); // read first: `this.pos += this.uint32()` would add to the old pos
        this.pos += length;
        break;
      }
      case WIRE_START_GROUP:
        if (recursionLimit <= 0) this.fail(`groups nested deeper than ${MAX_DEPTH} levels`);
        for (;;) {
          this.tag();
          if (this.wire === WIRE_END_GROUP) {
            if (this.field !== field) this.fail("invalid end-group tag");
            break;
          }
          const f = this.field;
          this.skip(this.wire, f, recursionLimit - 1);
        }
        break;
      default: // WIRE_END_GROUP without a group
        this.fail(`unexpected wire type ${wire} for field ${field}`);
    }
    if (this.pos > this.len) this.fail("unexpected end of data");
  }
}

function isObject(v: Decoded): v is DecodedObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Whether a Value without a kind is anywhere in the value. */
function hasEmptyValue(v: Decoded): boolean {
  if (v === EMPTY_VALUE) return true;
  if (typeof v !== "object" || v === null) return false;
  if (Array.isArray(v)) return v.some(hasEmptyValue);
  for (const key of Object.keys(v)) if (hasEmptyValue(v[key]!)) return true;
  return false;
}
