// The hand-written SendLeadEventsRequest decoder against the path it replaces,
// sendInputFromProto(fromBinary(...)): the same SendInput for every message protobuf-es accepts
// (metadata key order included), and a refusal wherever protobuf-es throws.
import { isDeepStrictEqual } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { SendLeadEventsRequestSchema } from "../../gen/leadevents/v1/lead_event_service_pb.js";
import { AppError } from "../../src/domain/errors.js";
import { checkMetadata, CompactMetadataText, METADATA_MAX_BYTES, OversizedMetadata } from "../../src/domain/metadata.js";
import { sendInputFromProto } from "../../src/rpc/mapping.js";
import "../../src/rpc/protobuf-text.js"; // as in the server: protobuf-es keeps a leading U+FEFF
import { decodeSendRequest, LazyDecodeFallback, MIN_LAZY_MESSAGE_BYTES, openLazySendRequest, sendInputOf } from "../../src/server/send-proto-decoder.js";
import type { RawEvent } from "../../src/domain/types.js";
import { makeBatch, prng, protoBytes, protoRequest } from "../bench/data.js";

/** decodeSendRequest of a message within the event cap: its events as an array. */
function decodeWhole(bytes: Uint8Array): { organizationId: bigint; eventType: string; validateOnly: boolean; events: RawEvent[] } {
  const decoded = decodeSendRequest(bytes);
  if (!Array.isArray(decoded.events)) throw new Error("more events than a call takes");
  return { ...decoded, events: decoded.events };
}

type Outcome = { malformed: true } | { input: unknown; metadataText: string[] } | { refused: string };

/**
 * What is stored or refused for each event's metadata: the decoder may hand over metadata as
 * compact text where protobuf-es gives an object, so events are compared by checkMetadata's
 * outcome, key order included (isDeepStrictEqual would ignore it on objects).
 */
function metadataTexts(input: { events: unknown }): string[] {
  if (!Array.isArray(input.events)) throw new Error("the decoder gives an array of events");
  return input.events.map((e: { metadata?: unknown }) => {
    if (e.metadata === undefined) return "(absent)";
    const r = checkMetadata(e.metadata);
    return r.ok ? String(r.value) : `${r.code}: ${r.reason}`;
  });
}

/** The input with each event's metadata replaced by its outcome (see metadataTexts). */
function comparable(o: Outcome): unknown {
  if (!("input" in o)) return o;
  const input = o.input as { events: Record<string, unknown>[] };
  return { ...o, input: { ...input, events: input.events.map((e, i) => ({ ...e, metadata: o.metadataText[i] })) } };
}

function viaProtobufEs(bytes: Uint8Array): Outcome {
  let msg;
  try {
    msg = fromBinary(SendLeadEventsRequestSchema, bytes);
  } catch {
    return { malformed: true };
  }
  try {
    const input = sendInputFromProto(msg);
    return { input, metadataText: metadataTexts(input) };
  } catch (err) {
    return { refused: (err as AppError).reason };
  }
}

function viaDecoder(bytes: Uint8Array): Outcome {
  let decoded;
  try {
    decoded = decodeSendRequest(bytes);
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== "invalid_argument" || err.reason !== "PROTOBUF_INVALID") throw err;
    return { malformed: true };
  }
  try {
    const input = sendInputOf(decoded);
    return { input, metadataText: metadataTexts(input) };
  } catch (err) {
    return { refused: (err as AppError).reason };
  }
}

/** How often the lazy decoding gave the same outcome, and how often it handed over to the whole decoding. */
const lazyCounts = { same: 0, fallback: 0, declined: 0 };

/**
 * The lazy decoding (chunks of 1 then 2 events, so every boundary is crossed) must give the same
 * request as the whole decoding, or hand over to it (LazyDecodeFallback, or null at the start):
 * never events of a message the whole decoding refuses, never other values.
 */
function viaLazyDecoder(bytes: Uint8Array): Outcome | "fallback" | "declined" {
  const lazy = openLazySendRequest(bytes, 0);
  if (lazy === null) return "declined";
  let events: RawEvent[];
  try {
    events = [...lazy.events.chunks(2, 1)].flat();
  } catch (err) {
    if (err instanceof LazyDecodeFallback) return "fallback";
    throw err;
  }
  try {
    const input = { ...sendInputOf(lazy), events };
    return { input, metadataText: metadataTexts(input) };
  } catch (err) {
    return { refused: (err as AppError).reason };
  }
}

function expectSame(bytes: Uint8Array, label = ""): Outcome {
  const expected = viaProtobufEs(bytes);
  const actual = viaDecoder(bytes);
  const lazy = viaLazyDecoder(bytes);
  if (lazy === "fallback" || lazy === "declined") lazyCounts[lazy]++;
  else lazyCounts.same++;
  for (const [name, got] of [["decoder", actual], ["lazy decoder", lazy]] as const) {
    if (got === "fallback" || got === "declined") continue;
    if (!isDeepStrictEqual(comparable(got), comparable(expected))) {
      // Show both in full (toEqual alone treats -0 and 0, and key order, as equal).
      expect({ name, label, hex: Buffer.from(bytes).toString("hex"), got }).toEqual({ name, label, hex: Buffer.from(bytes).toString("hex"), got: expected });
      throw new Error(`${name} differs from protobuf-es for ${label} ${Buffer.from(bytes).toString("hex")}`);
    }
  }
  return expected;
}

const LD = WireType.LengthDelimited;

/** Writes a message with `fill` inside a length-delimited field. */
function sub(w: BinaryWriter, field: number, fill: (w: BinaryWriter) => void): BinaryWriter {
  w.tag(field, LD).fork();
  fill(w);
  return w.join();
}

const bytesOf = (fill: (w: BinaryWriter) => void) => {
  const w = new BinaryWriter();
  fill(w);
  return w.finish();
};

const event = (fill: (w: BinaryWriter) => void) => bytesOf((w) => sub(w, 3, fill));
const metadataOf = (fill: (w: BinaryWriter) => void) => event((w) => sub(w, 3, fill));
const structOf = (...entries: ((w: BinaryWriter) => void)[]) => metadataOf((w) => sub(w, 5, (s) => entries.forEach((e) => sub(s, 1, e))));
const entry = (key: string, value: (w: BinaryWriter) => void) => (w: BinaryWriter) => {
  w.tag(1, LD).string(key);
  sub(w, 2, value);
};
const str = (s: string) => (w: BinaryWriter) => void w.tag(3, LD).string(s);
const num = (n: number) => (w: BinaryWriter) => void w.tag(2, WireType.Bit64).double(n);

/** Events with metadata replaced by checkMetadata's outcome (key order included). */
function lazyComparable(events: readonly RawEvent[]): unknown {
  return events.map((e) => ({ ...e, metadata: metadataTexts({ events: [e] })[0] }));
}

function firstEvent(o: Outcome): any {
  if (!("input" in o)) throw new Error(`expected a decoded message, got ${JSON.stringify(o)}`);
  return (o.input as any).events[0];
}

describe("SendLeadEventsRequest decoder", () => {
  it("decodes a realistic batch exactly like fromBinary + sendInputFromProto", () => {
    const batch = makeBatch(2000, 150, 7, 1_800_000_000_000_000);
    const req = protoRequest(42, "webinar_attended", batch);
    req.events[3]!.eventType = "own_type";
    req.events[4]!.eventType = "";
    req.events[5]!.metadataJson = '{"a":1}';
    req.validateOnly = true;
    const out = expectSame(protoBytes(req));
    expect((out as any).input.organizationId).toBe(42);
    expect((out as any).input.events).toHaveLength(2000);
    // The usual metadata is written as text while it is read, not built as an object.
    const decoded = decodeWhole(protoBytes(req)).events;
    expect(decoded.filter((e) => e.metadata instanceof CompactMetadataText)).toHaveLength(2000);
  });

  it("writes usual metadata straight to compact text, and reads anything else the general way", () => {
    const compact = (bytes: Uint8Array) => {
      expectSame(bytes);
      return decodeWhole(bytes).events[0]!.metadata instanceof CompactMetadataText;
    };
    const nested = (levels: number): ((w: BinaryWriter) => void) => (levels === 0 ? num(1) : (w) => sub(w, 5, (s) => sub(s, 1, entry("n", nested(levels - 1)))));
    // Taken: plain values of every kind, nesting, lists, non-ASCII text, -0, "" keys, many keys.
    expect(compact(structOf(entry("a", num(1.5)), entry("s", str("é 😀 \u2028")), entry("z", num(-0)), entry("", str("")),
      entry("n", (w) => void w.tag(1, WireType.Varint).int32(0)), entry("t", (w) => void w.tag(4, WireType.Varint).bool(true)),
      entry("l", (w) => sub(w, 6, (l) => { sub(l, 1, num(2)); sub(l, 1, str("x")); sub(l, 1, (v) => sub(v, 6, () => {})); })),
      entry("o", (w) => sub(w, 5, (s) => sub(s, 1, entry("ключ", str("значение")))))))).toBe(true);
    expect(compact(structOf(...Array.from({ length: 40 }, (_, i) => entry(`k${i}`, num(i)))))).toBe(true);
    expect(compact(metadataOf((w) => sub(w, 5, () => {})))).toBe(true);
    // 32 levels of objects (the top one and 31 below it) are allowed; a 33rd is refused, by the general way.
    expect(compact(structOf(entry("n", nested(31))))).toBe(true);
    expect(compact(structOf(entry("n", nested(32))))).toBe(false);
    expect(checkMetadata(decodeWhole(structOf(entry("n", nested(32)))).events[0]!.metadata)).toMatchObject({ ok: false, code: "invalid_metadata" });
    // Read the general way: what JavaScript's object or JSON.stringify would change, or refuse.
    for (const [i, bytes] of [
      structOf(entry("a", num(1)), entry("a", num(2))),
      structOf(...Array.from({ length: 12 }, (_, i) => entry(`k${i}`, num(i))), entry("k3", num(0))),
      structOf(entry("b", num(1)), entry("7", num(2))),
      structOf(entry('q"uote', num(1))),
      structOf(entry("s", str("tab\there"))),
      structOf(entry("s", str('say "hi"'))),
      structOf(entry("s", str("back\\slash"))),
      structOf(entry("s", str("\u0000"))),
      structOf(entry("x", num(NaN))),
      structOf(entry("x", () => {})),
      structOf((w) => { sub(w, 2, str("v")); w.tag(1, LD).string("k"); }),
      structOf((w) => sub(w, 2, str("v"))),
      metadataOf((w) => { sub(w, 5, (s) => sub(s, 1, entry("a", num(1)))); w.tag(2, WireType.Bit64).double(1); }),
      metadataOf((w) => sub(w, 6, (l) => sub(l, 1, num(1)))),
      metadataOf((w) => void w.tag(3, LD).string("text")),
      bytesOf((w) => sub(w, 3, (e) => { sub(e, 3, (v) => sub(v, 5, (s) => sub(s, 1, entry("a", num(1))))); sub(e, 3, (v) => sub(v, 5, (s) => sub(s, 1, entry("b", num(2))))); })),
    ].entries()) {
      expect({ case: i, compact: compact(bytes) }).toEqual({ case: i, compact: false });
    }
  });

  it("counts usual metadata past the size limit to its exact size without making its text, around the limit byte for byte", () => {
    const read = (bytes: Uint8Array) => {
      expectSame(bytes);
      return decodeWhole(bytes).events[0]!.metadata;
    };
    // {"s":"<n characters>"} is n + 8 bytes of ASCII; with "é" (2 bytes) the last character straddles the limit.
    for (const fill of ["a", "é", "😀"]) {
      for (let bytes = METADATA_MAX_BYTES - 4; bytes <= METADATA_MAX_BYTES + 4; bytes++) {
        const unit = Buffer.byteLength(fill);
        const n = Math.floor((bytes - 8) / unit);
        const text = fill.repeat(n) + "a".repeat(bytes - 8 - n * unit);
        const m = read(structOf(entry("s", str(text))));
        expect(Buffer.byteLength(JSON.stringify({ s: text }))).toBe(bytes);
        expect(m).toBeInstanceOf(bytes > METADATA_MAX_BYTES ? OversizedMetadata : CompactMetadataText);
        expect(checkMetadata(m)).toEqual(bytes > METADATA_MAX_BYTES
          ? { ok: false, code: "metadata_too_large", reason: `metadata too large: ${bytes} bytes, limit ${METADATA_MAX_BYTES}` }
          : { ok: true, value: JSON.stringify({ s: text }) });
      }
    }
    // Many keys: counted to the end (50,000 keys, 1.1 MB of text), the same size JSON.stringify gives.
    const many = Array.from({ length: 50_000 }, (_, i) => entry(`key${i}`, num(i)));
    const m = read(structOf(...many));
    expect(m).toBeInstanceOf(OversizedMetadata);
    expect((m as OversizedMetadata).bytes).toBe(Buffer.byteLength(JSON.stringify(Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`key${i}`, i])))));
    // Integer-like keys change the order of the text, not its size: counted too.
    const indexKeys = Array.from({ length: 50_000 }, (_, i) => [String((i * 2654435761) % 4294967295), i] as const);
    const counted = read(structOf(...indexKeys.map(([k, v]) => entry(k, num(v)))));
    expect(counted).toBeInstanceOf(OversizedMetadata);
    expect((counted as OversizedMetadata).bytes).toBe(Buffer.byteLength(JSON.stringify(Object.fromEntries(indexKeys))));
    // Past the limit, an unusual shape is still read the general way (the reason may not be the size).
    expect(read(structOf(...many, entry("x", num(NaN))))).not.toBeInstanceOf(OversizedMetadata);
    expect(read(structOf(...many, entry("key7", num(1))))).not.toBeInstanceOf(OversizedMetadata);
  });

  it("gives proto3 defaults for absent fields, and tells an absent optional eventType from an empty one", () => {
    const out = expectSame(bytesOf((w) => {
      sub(w, 3, () => {});
      sub(w, 3, (e) => e.tag(4, LD).string(""));
    }));
    expect(out).toMatchObject({ input: { organizationId: undefined, eventType: "", validateOnly: false } });
    const events = (out as any).input.events;
    expect(events[0]).toStrictEqual({ phoneE164: "", occurredAt: "", eventType: undefined, metadata: undefined, metadataJson: "" });
    expect(events[1].eventType).toBe("");
    expectSame(new Uint8Array(0));
  });

  it("skips unknown fields of every wire type at every level, groups included", () => {
    const unknowns = (w: BinaryWriter) => {
      w.tag(90, WireType.Varint).uint32(300);
      w.tag(91, WireType.Bit64).fixed64(7n);
      w.tag(92, WireType.Bit32).fixed32(7);
      w.tag(93, LD).string("ignored");
      w.tag(94, WireType.StartGroup).tag(1, WireType.Varint).uint32(1).tag(95, WireType.StartGroup).tag(95, WireType.EndGroup).tag(94, WireType.EndGroup);
    };
    const out = expectSame(bytesOf((w) => {
      unknowns(w);
      w.tag(2, LD).string("batch_type");
      sub(w, 3, (e) => {
        unknowns(e);
        e.tag(1, LD).string("+14155550132");
        sub(e, 3, (v) => {
          unknowns(v);
          sub(v, 5, (s) => {
            unknowns(s);
            sub(s, 1, entry("list", (lv) => sub(lv, 6, (l) => {
              unknowns(l);
              sub(l, 1, (x) => { unknowns(x); num(1)(x); });
            })));
          });
        });
      });
    }));
    expect(firstEvent(out).metadata).toEqual({ list: [1] });
  });

  it("lets the last occurrence of a scalar win and merges a repeated metadata field the protobuf way", () => {
    const out = expectSame(bytesOf((w) => {
      w.tag(1, WireType.Varint).int64(5).tag(1, WireType.Varint).int64(6);
      w.tag(4, WireType.Varint).bool(true).tag(4, WireType.Varint).bool(false);
      sub(w, 3, (e) => {
        e.tag(1, LD).string("first").tag(1, LD).string("second");
        sub(e, 3, (v) => sub(v, 5, (s) => { sub(s, 1, entry("a", num(1))); sub(s, 1, entry("b", num(2))); }));
        sub(e, 3, (v) => sub(v, 5, (s) => { sub(s, 1, entry("a", num(3))); sub(s, 1, entry("10", num(4))); }));
      });
      sub(w, 3, (e) => {
        sub(e, 3, (v) => sub(v, 6, (l) => sub(l, 1, num(1))));
        sub(e, 3, (v) => sub(v, 6, (l) => sub(l, 1, num(2))));
      });
      sub(w, 3, (e) => {
        sub(e, 3, (v) => v.tag(1, WireType.Varint).int32(0));
        sub(e, 3, () => {}); // an empty Value merged into null stays null
      });
    }));
    const input = (out as any).input;
    expect(input.organizationId).toBe(6);
    expect(input.validateOnly).toBe(false);
    expect(input.events[0].phoneE164).toBe("second");
    expect((out as any).metadataText[0]).toBe('{"10":4,"a":3,"b":2}');
    expect(input.events[1].metadata).toEqual([1, 2]);
    expect(input.events[2].metadata).toBeNull();
  });

  it("refuses NaN, Infinity and empty Values in metadata (the row, not the call), unless a later value replaces them", () => {
    const nan = firstEvent(expectSame(structOf(entry("x", num(NaN)))));
    // As over JSON, where 1e400 is Infinity.
    expect(checkMetadata(nan.metadata)).toMatchObject({ ok: false, code: "invalid_metadata", reason: "invalid metadata: contains a number that is not finite" });
    expect(checkMetadata(JSON.parse('{"x":1e400}'))).toMatchObject({ ok: false, code: "invalid_metadata", reason: "invalid metadata: contains a number that is not finite" });
    const empty = firstEvent(expectSame(structOf(entry("x", () => {}))));
    expect(checkMetadata(empty.metadata)).toMatchObject({ ok: false, code: "invalid_metadata", reason: "invalid metadata: contains a google.protobuf.Value with no kind set, which JSON cannot carry" });
    expectSame(structOf(entry("x", num(-Infinity))));
    expectSame(structOf(entry("x", () => {})));
    expectSame(metadataOf(() => {}));
    expectSame(structOf((w) => void w.tag(1, LD).string("no value")));
    expectSame(metadataOf((w) => sub(w, 6, (l) => sub(l, 1, () => {}))));
    const replaced = firstEvent(expectSame(structOf(entry("x", num(NaN)), entry("x", num(1)))));
    expect(replaced.metadata).toEqual({ x: 1 });
    const negativeZero = firstEvent(expectSame(structOf(entry("z", num(-0)))));
    expect(Object.is(negativeZero.metadata.z, -0)).toBe(true);
  });

  it("refuses a __proto__ key at any depth as JSON does (protobuf-es would make it the prototype and drop it), and puts integer-like keys first", () => {
    const proto = 'invalid metadata: contains the key "__proto__", which protobuf and JavaScript clients cannot read back';
    const nested = structOf(entry("b", str("1")), entry("o", (w) => sub(w, 5, (s) => sub(s, 1, entry("__proto__", (v) => sub(v, 5, (t) => sub(t, 1, entry("p", num(1)))))))));
    expect(checkMetadata(decodeWhole(nested).events[0]!.metadata)).toMatchObject({ ok: false, reason: proto });
    // The usual shape goes the general way when it meets the key, and so does a repeated key.
    for (const bytes of [structOf(entry("__proto__", num(1)), entry("a", num(2))), structOf(entry("__proto__", num(1)), entry("a", num(2)), entry("a", num(3)))]) {
      const metadata = decodeWhole(bytes).events[0]!.metadata;
      expect(metadata).not.toBeInstanceOf(CompactMetadataText);
      expect(checkMetadata(metadata)).toMatchObject({ ok: false, reason: proto });
    }
    // Over JSON too.
    expect(checkMetadata(JSON.parse('{"a":{"__proto__":1}}'))).toMatchObject({ ok: false, reason: proto });
    // Integer-like keys come first, as JSON.stringify of the parsed JSON has them.
    const ordered = decodeWhole(structOf(entry("b", str("1")), entry("7", str("3")), entry("constructor", str("4")))).events[0]!;
    expect(checkMetadata(ordered.metadata)).toEqual({ ok: true, value: '{"7":"3","b":"1","constructor":"4"}' });
  });

  it("reads a known field as its declared type whatever its wire type, as protobuf-es does", () => {
    expectSame(bytesOf((w) => w.tag(1, LD).uint32(5)));
    expectSame(bytesOf((w) => w.tag(4, WireType.Bit64).uint32(1)));
    // validate_only in the packed encoding of a repeated bool: read as one varint (the length),
    // then the packed bytes as tags.
    expectSame(bytesOf((w) => w.tag(4, LD).fork().bool(true).bool(false).join()));
    expectSame(bytesOf((w) => w.tag(4, LD).fork().uint32(8).uint32(1).join()));
    expectSame(event((e) => e.tag(1, WireType.Varint).uint32(1).raw(new Uint8Array([0x41]))));
    expectSame(event((e) => e.tag(3, WireType.StartGroup).uint32(0)));
    expectSame(structOf((w) => w.tag(2, WireType.Varint).uint32(0)));
  });

  it("reads map entries the protobuf-es way: key and value in any order, defaults, other fields not skipped", () => {
    expectSame(structOf((w) => { sub(w, 2, str("v")); w.tag(1, LD).string("k"); }));
    expectSame(structOf((w) => sub(w, 2, str("v"))));
    expectSame(structOf((w) => { w.tag(1, LD).string("k"); w.tag(3, WireType.Varint).uint32(8); sub(w, 2, str("v")); }));
    expectSame(structOf((w) => { w.tag(1, LD).string("k"); w.tag(3, WireType.Varint).uint32(1); }));
  });

  it("handles UTF-8 like protobuf-es: multi-byte text, a leading U+FEFF kept (as JSON keeps it), invalid bytes refuse the call", () => {
    const text = firstEvent(expectSame(event((e) => e.tag(1, LD).string("\u{feff}+1 415 555 0132 é 😀"))));
    expect(text.phoneE164).toBe("\u{feff}+1 415 555 0132 é 😀");
    const bom = decodeWhole(bytesOf((w) => { w.tag(2, LD).string("\u{feff}paid"); sub(w, 3, (e) => e.tag(2, LD).string("\u{feff}2026-01-01T00:00:00Z")); }));
    expect([bom.eventType, bom.events[0]!.occurredAt]).toEqual(["\u{feff}paid", "\u{feff}2026-01-01T00:00:00Z"]);
    expect(checkMetadata(decodeWhole(structOf(entry("\u{feff}k", str("\u{feff}v")))).events[0]!.metadata)).toEqual({ ok: true, value: '{"\u{feff}k":"\u{feff}v"}' });
    expectSame(structOf(entry("ключ", str("значение"))));
    for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
      expect(expectSame(event((e) => e.tag(1, LD).bytes(new Uint8Array(bad))))).toEqual({ malformed: true });
      expect(expectSame(structOf((w) => w.tag(1, LD).bytes(new Uint8Array(bad))))).toEqual({ malformed: true });
      expect(expectSame(bytesOf((w) => w.tag(2, LD).bytes(new Uint8Array(bad))))).toEqual({ malformed: true });
    }
  });

  it("refuses organization ids the service refuses, after decoding", () => {
    expect(expectSame(bytesOf((w) => w.tag(1, WireType.Varint).int64(-1)))).toEqual({ refused: "ORGANIZATION_ID_INVALID" });
    expect(expectSame(bytesOf((w) => w.tag(1, WireType.Varint).int64(2n ** 60n)))).toEqual({ refused: "ORGANIZATION_ID_INVALID" });
  });

  it("allows 100 nested messages like protobuf-es, and past that rejects the too deep metadata's row instead of the call", () => {
    // request(1) > event(2) > Value(3) > Struct(4) > Value(5) ...: n JSON levels use 3 + 2n messages.
    const deep = (levels: number) => (w: BinaryWriter) =>
      sub(w, 3, function fill(v: BinaryWriter, level = levels) {
        if (level === 0) return void v.tag(4, WireType.Varint).bool(true);
        sub(v, 6, (l) => sub(l, 1, (x) => fill(x, level - 1)));
      } as (w: BinaryWriter) => void);
    const nested = (levels: number) => event(deep(levels));
    expect(expectSame(nested(48))).toHaveProperty("input");
    expect(viaProtobufEs(nested(49))).toEqual({ malformed: true });
    // Over JSON, such metadata rejects its row ("nested deeper than 32 levels"); so it does here,
    // and the rest of the message is read as usual.
    const bytes = bytesOf((w) => {
      sub(w, 3, (e) => { e.tag(1, LD).string("+14155550132"); deep(60)(e); e.tag(2, LD).string("2026-01-01T00:00:00Z"); deep(70)(e); });
      sub(w, 3, (e) => { e.tag(1, LD).string("+14155550133"); sub(e, 3, (v) => sub(v, 5, (s) => sub(s, 1, entry("a", num(1))))); });
      w.tag(2, LD).string("after");
    });
    const decoded = decodeWhole(bytes);
    expect(decoded.eventType).toBe("after");
    expect(decoded.events.map((e) => [e.phoneE164, e.occurredAt])).toEqual([["+14155550132", "2026-01-01T00:00:00Z"], ["+14155550133", ""]]);
    expect(checkMetadata(decoded.events[0]!.metadata)).toEqual({ ok: false, code: "invalid_metadata", reason: "invalid metadata: nested deeper than 32 levels" });
    expect(checkMetadata(decoded.events[1]!.metadata)).toEqual({ ok: true, value: '{"a":1}' });
    // Its declared length must still fit in the message.
    const cut = bytes.subarray(0, 40);
    expect(() => decodeSendRequest(cut)).toThrow(AppError);
  });

  it("decodes a large message lazily, chunk by chunk, to the same events, and hands the quirks over to the whole decoding", () => {
    const nowMicros = Date.UTC(2026, 11, 4) * 1000;
    const batch = makeBatch(3000, 120, 7, nowMicros);
    const bytes = protoBytes(protoRequest(42, "webinar_attended", batch));
    expect(bytes.byteLength).toBeGreaterThan(MIN_LAZY_MESSAGE_BYTES);
    expect(openLazySendRequest(bytes.subarray(0, 1000))).toBeNull(); // small: decoded whole
    const lazy = openLazySendRequest(bytes)!;
    expect(lazy).not.toBeNull();
    const whole = decodeWhole(bytes);
    const chunks = [...lazy.events.chunks(2000, 250)];
    expect(chunks.map((c) => c.length)).toEqual([250, 2000, 750]);
    expect(lazyComparable(chunks.flat())).toEqual(lazyComparable(whole.events));
    expect({ ...lazy, events: undefined }).toEqual({ ...whole, events: undefined });
    // chunks() starts over when called again (the probing path after a conflict reads the batch twice).
    expect([...lazy.events.chunks(1000)].flat().length).toBe(3000);

    // The organization id after the events counts (the last occurrence wins): the scan reads the whole top level.
    const trailer = bytesOf((w) => w.tag(1, WireType.Varint).int64(7n).tag(4, WireType.Varint).bool(true));
    const withTrailer = new Uint8Array([...bytes, ...trailer]);
    expect(openLazySendRequest(withTrailer)).toMatchObject({ organizationId: 7n, validateOnly: true });

    // Malformed bytes in the last event: the lazy reading hands over when it gets there.
    const broken = Uint8Array.from(bytes);
    broken[broken.length - 3] = 0xff;
    broken[broken.length - 2] = 0xff;
    const lazyBroken = openLazySendRequest(broken)!;
    expect(lazyBroken).not.toBeNull(); // the top level is intact
    const seen: number[] = [];
    expect(() => { for (const c of lazyBroken.events.chunks(2000)) seen.push(c.length); }).toThrow(LazyDecodeFallback);
    expect(seen).toEqual([2000]); // the first chunk went out before the fault was met
    expect(() => decodeSendRequest(broken)).toThrow(/not a valid leadevents.v1.SendLeadEventsRequest/);

    // An event whose last field runs past the event's declared length (protobuf-es reads on,
    // into the next event's bytes): the whole decoding decides.
    const overrun = bytesOf((w) => {
      w.tag(3, LD).bytes(Uint8Array.from([0x0a, 0x05, 0x2b, 0x31])); // phone field claims 5 bytes, event holds 2 of them
      w.tag(3, LD).bytes(bytesOf((e) => e.tag(1, LD).string("+14155550132")));
    });
    const lazyOverrun = openLazySendRequest(overrun, 0)!;
    expect(() => [...lazyOverrun.events.chunks(10)]).toThrow(LazyDecodeFallback);
    expectSame(overrun, "overrun");
  });

  it("counts events past 50,000 without decoding them, framed as decoded events are (whatever the wire type)", () => {
    const one = Buffer.from([0x1a, 0x00]); // an empty event
    const capped = Buffer.concat([Buffer.from([0x08, 0x2a]), Buffer.alloc(2 * 50_000, one)]);
    const tooMany = (bytes: Uint8Array) => {
      for (const decoded of [decodeSendRequest(bytes), openLazySendRequest(bytes, 0)!]) {
        expect(Array.isArray(decoded.events)).toBe(false);
        expect(decoded.organizationId).toBe(42n);
        expect(() => [...(decoded.events as { chunks(n: number): Iterable<unknown> }).chunks(2000)]).toThrow(/^too many events: at most 50,000 per call, got 50,001$/);
      }
    };
    expect(decodeWhole(capped).events).toHaveLength(50_000);
    tooMany(Buffer.concat([capped, one]));
    // Field 3 with the varint wire type is still read as a length-prefixed event (as protobuf-es
    // frames a message field), so its bytes can never pass for top-level fields (here: organization 7).
    const varintFramed = Buffer.concat([capped, Buffer.from([0x18, 0x02, 0x08, 0x07])]);
    expect(() => decodeSendRequest(varintFramed)).not.toThrow();
    expect(decodeSendRequest(varintFramed).organizationId).toBe(42n);
    expect(() => [...(decodeSendRequest(varintFramed).events as { chunks(n: number): Iterable<unknown> }).chunks(2000)]).toThrow(/got 50,001$/);
    // An event past the cap that runs past the message is malformed, as before the cap.
    expect(() => decodeSendRequest(Buffer.concat([capped, Buffer.from([0x1a, 0x05, 0x00])]))).toThrow(/not a valid leadevents.v1.SendLeadEventsRequest/);
  });

  it("refuses every truncation of a message that needs its end", () => {
    const whole = toBinary(SendLeadEventsRequestSchema, create(SendLeadEventsRequestSchema, {
      organizationId: 300n,
      eventType: "t",
      events: [{ phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:00Z", metadata: { kind: { case: "numberValue", value: 1.5 } }, eventType: "x" }],
      validateOnly: true,
    }));
    for (let n = 0; n < whole.length; n++) expectSame(whole.subarray(0, n), `prefix ${n}`);
  });

  it("matches protobuf-es on thousands of generated and mutated messages", () => {
    const rand = prng(20261203);
    const int = (n: number) => Math.floor(rand() * n);
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
    // No "__proto__": there the decoder keeps the key on purpose and protobuf-es does not (tested above).
    const KEYS = ["a", "b", "campaign", "1", "10", "constructor", "", "ключ", "😀", "toString", "a"];
    const STRINGS = ["", "x", "+14155550132", "2026-11-30T18:34:00Z", "é", "\u{feff}bom", "\u0000", "😀", "a".repeat(40)];
    const NUMBERS = [0, -0, 1.5, -2, 1e300, NaN, Infinity, -Infinity, 2 ** 53 + 2];

    const unknown = (w: BinaryWriter) => {
      const f = 6 + int(40);
      switch (int(5)) {
        case 0: return void w.tag(f, WireType.Varint).uint32(int(1e6));
        case 1: return void w.tag(f, WireType.Bit64).double(rand());
        case 2: return void w.tag(f, WireType.Bit32).fixed32(int(1e6));
        case 3: return void w.tag(f, LD).string(pick(STRINGS));
        default: return void w.tag(f, WireType.StartGroup).tag(1, WireType.Varint).uint32(1).tag(f, WireType.EndGroup);
      }
    };
    const value = (w: BinaryWriter, depth: number): void => {
      const fields = rand() < 0.1 ? 0 : rand() < 0.85 ? 1 : 2;
      for (let i = 0; i < fields; i++) {
        const kind = depth > 3 ? int(4) : int(7);
        if (kind === 0) w.tag(1, WireType.Varint).int32(int(3));
        else if (kind === 1) w.tag(2, WireType.Bit64).double(pick(NUMBERS));
        else if (kind === 2) w.tag(3, LD).string(pick(STRINGS));
        else if (kind === 3) w.tag(4, WireType.Varint).bool(rand() < 0.5);
        else if (kind === 4) sub(w, 5, (s) => { for (let n = int(4); n > 0; n--) sub(s, 1, (e) => {
          const k = pick(KEYS);
          if (rand() < 0.5) { e.tag(1, LD).string(k); sub(e, 2, (v) => value(v, depth + 1)); }
          else { sub(e, 2, (v) => value(v, depth + 1)); if (rand() < 0.9) e.tag(1, LD).string(k); }
        }); });
        else if (kind === 5) sub(w, 6, (l) => { for (let n = int(4); n > 0; n--) sub(l, 1, (v) => value(v, depth + 1)); });
        else unknown(w);
      }
    };
    // Metadata mostly in the usual shape, with now and then one thing the compact text cannot
    // carry as it is (a repeated, integer-like or escaped key, an escaped string, NaN, a second field).
    const CLEAN_KEYS = ["a", "b", "campaign", "source", "ключ", "😀", "", "toString", "constructor"];
    const CLEAN_STRINGS = ["", "x", "+14155550132", "é", "😀", "a".repeat(40), "\u{feff}bom", "line\u2028sep"];
    const odd = () => rand() < 0.04;
    const usual = (w: BinaryWriter, depth: number): void => {
      const kind = depth > 3 ? int(4) : int(6);
      if (kind === 0) w.tag(1, WireType.Varint).int32(0);
      else if (kind === 1) w.tag(2, WireType.Bit64).double(odd() ? pick(NUMBERS) : pick([0, -0, 1.5, -2, 1e21, 5e-324, 2 ** 53 + 2]));
      else if (kind === 2) w.tag(3, LD).string(odd() ? pick(STRINGS.concat(['q"', "b\\", "\t"])) : pick(CLEAN_STRINGS));
      else if (kind === 3) w.tag(4, WireType.Varint).bool(rand() < 0.5);
      else if (kind === 4) usualStruct(w, depth + 1);
      else sub(w, 6, (l) => { for (let n = int(4); n > 0; n--) sub(l, 1, (v) => usual(v, depth + 1)); });
      if (odd()) w.tag(4, WireType.Varint).bool(true);
    };
    const usualStruct = (w: BinaryWriter, depth: number): void => {
      // Now and then a wide one, past the 8 keys after which repeats are looked up in a set.
      const wide = rand() < 0.15;
      sub(w, 5, (s) => { for (let n = wide ? 9 + int(10) : int(5); n > 0; n--) sub(s, 1, (e) => {
        e.tag(1, LD).string(odd() ? pick(KEYS) : wide ? `${pick(CLEAN_KEYS)}${int(40)}` : pick(CLEAN_KEYS));
        sub(e, 2, (v) => usual(v, depth));
      }); });
    };
    const message = () => bytesOf((w) => {
      const order = [0, 1, 2, 3, 4].sort(() => rand() - 0.5);
      for (const f of order) {
        if (rand() < 0.3) continue;
        if (f === 0) w.tag(1, WireType.Varint).int64(pick([0n, 1n, 42n, -5n, 2n ** 63n - 1n]));
        else if (f === 1) w.tag(2, LD).string(pick(STRINGS));
        else if (f === 3) w.tag(4, WireType.Varint).bool(rand() < 0.5);
        else if (f === 4) unknown(w);
        else for (let n = int(4); n > 0; n--) sub(w, 3, (e) => {
          for (let k = int(7); k > 0; k--) {
            const g = int(7);
            if (g === 0) e.tag(1, LD).string(pick(STRINGS));
            else if (g === 1) e.tag(2, LD).string(pick(STRINGS));
            else if (g === 2) sub(e, 3, (v) => (rand() < 0.6 ? usualStruct(v, 0) : value(v, 0)));
            else if (g === 3) e.tag(4, LD).string(pick(STRINGS));
            else if (g === 4) e.tag(5, LD).string(pick(['{"a":1}', "", "not json"]));
            else if (g === 5) e.tag(1 + int(5), pick([WireType.Varint, WireType.Bit32, WireType.Bit64])).uint32(int(300));
            else unknown(e);
          }
        });
      }
    });

    let decoded = 0;
    let malformed = 0;
    let compactText = 0;
    let general = 0;
    for (let i = 0; i < 3000; i++) {
      const bytes = message();
      if ("input" in expectSame(bytes, `generated #${i}`)) {
        decoded++;
        for (const e of decodeWhole(bytes).events) {
          if (e.metadata instanceof CompactMetadataText) compactText++;
          else if (e.metadata !== undefined) general++;
        }
      }
      // Mutations: a flipped byte, a random byte inserted, a random cut, or random garbage.
      for (let m = 0; m < 4; m++) {
        const copy = Uint8Array.from(bytes);
        let mutated: Uint8Array = copy;
        const at = int(Math.max(1, copy.length));
        switch (int(4)) {
          case 0: if (copy.length) copy[at] = copy[at]! ^ (1 << int(8)); break;
          case 1: mutated = new Uint8Array([...copy.subarray(0, at), int(256), ...copy.subarray(at)]); break;
          case 2: mutated = copy.subarray(0, at); break;
          default: mutated = Uint8Array.from({ length: int(24) }, () => int(256));
        }
        if ("malformed" in expectSame(mutated, `mutation ${m} of #${i}`)) malformed++;
      }
    }
    // Metadata-heavy messages: well-formed events whose metadata is mostly in the usual shape,
    // sometimes sent twice (merged) or in a general Value, with one mutation each.
    for (let i = 0; i < 2000; i++) {
      const bytes = bytesOf((w) => {
        for (let n = 1 + int(3); n > 0; n--) sub(w, 3, (e) => {
          e.tag(1, LD).string("+14155550132");
          const r = rand();
          sub(e, 3, (v) => (r < 0.8 ? usualStruct(v, 0) : value(v, 0)));
          if (r > 0.9) sub(e, 3, (v) => usualStruct(v, 0));
        });
      });
      if ("input" in expectSame(bytes, `metadata #${i}`)) {
        for (const e of decodeWhole(bytes).events) {
          if (e.metadata instanceof CompactMetadataText) compactText++;
          else if (e.metadata !== undefined) general++;
        }
      }
      const copy = Uint8Array.from(bytes);
      const at = int(copy.length);
      copy[at] = copy[at]! ^ (1 << int(8));
      expectSame(copy, `mutated metadata #${i}`);
    }
    // The generator must exercise both outcomes substantially.
    expect(decoded).toBeGreaterThan(1200);
    // ... and the lazy decoding must mostly decide by itself, and hand over now and then.
    expect(lazyCounts.same).toBeGreaterThan(5000);
    expect(lazyCounts.fallback).toBeGreaterThan(100);
    expect(malformed).toBeGreaterThan(2000);
    // ... and both ways of reading metadata.
    expect(compactText).toBeGreaterThan(1500);
    expect(general).toBeGreaterThan(1000);
  });
});
