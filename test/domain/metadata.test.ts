import { describe, it, expect } from "vitest";
import { UnrepresentableMetadata } from "../../src/domain/metadata.js";
import { checkMetadata, checkMetadataJson, METADATA_MAX_BYTES } from "../../src/domain/index.js";
import { firstRequest, readCase, itWithShared } from "./shared-cases.js";

describe("metadata", () => {
  itWithShared("accepts 8192 compact bytes and rejects 8193, é counting two bytes (metadata-bytes.json)", () => {
    const results = firstRequest(readCase("metadata-bytes")).events.map((e) => checkMetadata(e.metadata));
    expect(results.map((r) => r.ok)).toEqual([true, false, true, false]);
    expect(results[1]).toEqual({ ok: false, code: "metadata_too_large", reason: "metadata too large: 8193 bytes, limit 8192" });
    expect(results[3]).toEqual({ ok: false, code: "metadata_too_large", reason: "metadata too large: 8194 bytes, limit 8192" });
  });

  it("measures compact UTF-8 JSON exactly at the limit", () => {
    expect(METADATA_MAX_BYTES).toBe(8192);
    const pad = (n: number) => ({ p: "x".repeat(n) }); // {"p":"…"} is 8 bytes of overhead
    expect(checkMetadata(pad(8184)).ok).toBe(true);
    expect(checkMetadata(pad(8185)).ok).toBe(false);
    expect(checkMetadata({ p: "é".repeat(4092) }).ok).toBe(true);
    expect(checkMetadata({ p: "é".repeat(4093)}).ok).toBe(false);
    expect(checkMetadata({ p: "😀".repeat(2046) }).ok).toBe(true); // 4 bytes each: 8 + 8184
  });

  it("treats null and absent metadata as none", () => {
    expect(checkMetadata(undefined)).toEqual({ ok: true, value: null });
    expect(checkMetadata(null)).toEqual({ ok: true, value: null });
  });

  it("returns compact JSON text", () => {
    expect(checkMetadata({ minutes: 23, source: "webinar-report", tags: ["a", { b: null }] })).toEqual({
      ok: true,
      value: '{"minutes":23,"source":"webinar-report","tags":["a",{"b":null}]}',
    });
    expect(checkMetadata({})).toEqual({ ok: true, value: "{}" });
  });

  it("rejects metadata that is not a JSON object", () => {
    for (const raw of [[1, 2], "text", 42, true, false]) {
      expect(checkMetadata(raw), JSON.stringify(raw)).toEqual({ ok: false, code: "invalid_metadata", reason: "invalid metadata: must be a JSON object" });
    }
  });

  it("rejects U+0000 in any key or value at any depth", () => {
    for (const raw of [{ note: "a\u0000b" }, { "k\u0000": 1 }, { a: [{ b: { c: ["\u0000"] } }] }]) {
      const r = checkMetadata(raw);
      expect(r.ok === false && r.code).toBe("invalid_metadata");
      expect(r.ok === false && r.reason).toMatch(/^invalid metadata: .*U\+0000/);
    }
  });

  it("rejects lone surrogates and keeps well-formed pairs", () => {
    for (const raw of [{ a: "x\ud800" }, { a: "\udfff" }, { ["\ud83d"]: 1 }, { a: ["\ud83d\ud83d"] }]) {
      expect(checkMetadata(raw).ok, JSON.stringify(raw)).toBe(false);
    }
    expect(checkMetadata({ a: "😀" })).toEqual({ ok: true, value: '{"a":"😀"}' });
  });

  it("keeps text that only looks like an escape", () => {
    expect(checkMetadata({ a: "\\u0000" })).toEqual({ ok: true, value: '{"a":"\\\\u0000"}' });
    expect(checkMetadata({ a: "\\\ud800" }).ok).toBe(false);
    expect(checkMetadata({ a: "tab\there", q: '"quoted"' }).ok).toBe(true);
  });

  it("rejects values JSON cannot carry instead of changing them", () => {
    for (const raw of [{ n: NaN }, { n: Infinity }, { u: undefined }, { f: () => 1 }, { b: 1n }, { a: [-Infinity] }]) {
      const r = checkMetadata(raw);
      expect(r.ok === false && r.code).toBe("invalid_metadata");
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(checkMetadata(cyclic).ok).toBe(false);
  });

  it("reports invalid content before size", () => {
    const r = checkMetadata({ p: "x".repeat(9000) + "\u0000" });
    expect(r.ok === false && r.code).toBe("invalid_metadata");
  });

  it("applies the same rules to metadata given as JSON text", () => {
    expect(checkMetadataJson('{ "a" : 1,  "b": [true] }')).toEqual({ ok: true, value: '{"a":1,"b":[true]}' });
    expect(checkMetadataJson("null")).toEqual({ ok: true, value: null });
    expect(checkMetadataJson("")).toEqual({ ok: true, value: null });
    expect(checkMetadataJson("[1]")).toEqual({ ok: false, code: "invalid_metadata", reason: "invalid metadata: must be a JSON object" });
    expect(checkMetadataJson("{").ok).toBe(false);
    expect(checkMetadataJson('{"a":"\\u0000"}').ok).toBe(false);
    expect(checkMetadataJson('{"a":"\\ud800"}').ok).toBe(false);
    const big = checkMetadataJson(JSON.stringify({ p: "x".repeat(8185) }));
    expect(big.ok === false && big.code).toBe("metadata_too_large");
  });
});

describe("metadata given as compact JSON text", () => {
  it("keeps compact text as it is, and judges it as its parsed value is judged", () => {
    const texts = ['{"b":1,"a":[true,null,{"c":"é😀"}]}', '{"10":1,"2":2,"x":-1.5e-7}', '{"a":1,"a":2}', '{"a":1.0}', '{"a":"\\u0000"}', `{"p":"${"x".repeat(8186)}"}`, `{"p":"${"é".repeat(4094)}"}`, `{"p":"${"x".repeat(8187)}"}`];
    for (const text of texts) {
      const fromText = checkMetadataJson(text);
      const fromValue = checkMetadata(JSON.parse(text));
      expect(fromText.ok, text).toBe(fromValue.ok);
      if (fromText.ok && fromValue.ok) expect(JSON.parse(fromText.value!), text).toEqual(JSON.parse(fromValue.value!));
      else expect(fromText, text).toEqual(fromValue);
    }
    expect(checkMetadataJson('{"b":1,"a":2}')).toEqual({ ok: true, value: '{"b":1,"a":2}' });
  });
});

describe("metadata nesting", () => {
  const nest = (levels: number) => {
    const root: Record<string, unknown> = {};
    let cur = root;
    for (let i = 1; i < levels; i++) cur = (cur.a = {}) as Record<string, unknown>;
    return root;
  };
  it("accepts 32 levels and rejects 33, which gRPC could not return (protobuf nests two messages per level)", () => {
    expect(checkMetadata(nest(32)).ok).toBe(true);
    const deep = checkMetadata(nest(33));
    expect(deep.ok ? "ok" : deep.reason).toMatch(/^invalid metadata: nested deeper than 32 levels/);
  });

  it("rejects metadata a binary Value could not carry as JSON with a clear reason", () => {
    const r = checkMetadata(new UnrepresentableMetadata("contains a google.protobuf.Value with no kind set, which JSON cannot carry"));
    expect(r.ok ? "ok" : r.reason).toBe("invalid metadata: contains a google.protobuf.Value with no kind set, which JSON cannot carry");
  });
});
