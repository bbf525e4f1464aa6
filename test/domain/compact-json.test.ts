// The recognizer of canonical compact JSON: whatever it accepts, JSON.parse accepts, and
// JSON.stringify gives back at the same length and the same value; what JSON.stringify writes
// (without escapes or repeated keys) it accepts.
import { describe, expect, it } from "vitest";
import { prng } from "../bench/data.js"; // seeded, so a failure can be replayed
import { mutateText } from "../support/mutate.js";
import { compactObjectEnd, compactValueEnd, plainStringEnd } from "../../src/domain/compact-json.js";

const accepts = (text: string, depth = 31) => compactValueEnd(text, 0, depth) === text.length;

const NUMBERS = [0, 1, -1, 7, 123456789012345, 1234567890123456, 2 ** 53, 1.5, -0.25, 1 / 3, 1e21, 1e-7, 5e-324, 1.7976931348623157e308];
const STRINGS = ["", "a", "é", "東京", "😀", "\u2028", "a b", "x:y", "{[,]}"];

function randomValue(rand: () => number, depth: number): unknown {
  const r = rand();
  if (depth > 4 || r < 0.3) return STRINGS[Math.floor(rand() * STRINGS.length)]!;
  if (r < 0.45) return NUMBERS[Math.floor(rand() * NUMBERS.length)]! * (rand() < 0.5 ? 1 : -1);
  if (r < 0.55) return rand() < 0.5;
  if (r < 0.6) return null;
  if (r < 0.75) return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1));
  const o: Record<string, unknown> = {};
  for (let k = 0; k < Math.floor(rand() * 5); k++) o[["a", "b", "10", "2", "__proto__", "é"][Math.floor(rand() * 6)]! + (k % 3)] = randomValue(rand, depth + 1);
  return o;
}

describe("canonical compact JSON", () => {
  it("accepts what JSON.stringify writes when it writes no escapes", () => {
    const rand = prng(11);
    let n = 0;
    for (let k = 0; k < 3000; k++) {
      const text = JSON.stringify({ m: randomValue(rand, 0) });
      if (text.includes("\\")) continue;
      n++;
      // Keys starting with a digit are refused (JavaScript reorders integer-like keys).
      const digitKey = /[{,]"[0-9]/.test(text);
      expect(compactObjectEnd(text, 0, 31), text).toBe(digitKey ? -1 : text.length);
    }
    expect(n).toBeGreaterThan(2000);
  });

  it("never accepts what JSON.parse refuses, nor text JSON.stringify would write otherwise (mutated texts)", () => {
    const rand = prng(12);
    const alphabet = ['"', "\\", "[", "]", "{", "}", ",", ":", " ", "a", "1", "0", "-", ".", "e", "E", "+", "n", "\n", "\u0001", "\ud800", "\udc00"];
    let accepted = 0;
    for (let k = 0; k < 20000; k++) {
      const text = mutateText(rand, JSON.stringify({ m: randomValue(rand, 0), n: randomValue(rand, 2) }), alphabet);
      if (!accepts(text)) continue;
      accepted++;
      const parsed = JSON.parse(text); // throws, failing the test, if the text is not JSON
      const again = JSON.stringify(parsed);
      expect(again, text).toBe(text); // the very text: every write path stores the same
      expect(JSON.parse(again), text).toEqual(parsed);
      expect(/[\s\\]/.test(text.replace(/"[^"]*"/g, "")), text).toBe(false);
    }
    expect(accepted).toBeGreaterThan(1000);
  });

  it("refuses whitespace, escapes, repeated keys and numbers JavaScript prints otherwise", () => {
    for (const text of ['{"a": 1}', '{ "a":1}', '{"a":1 }', '{"a":"\\n"}', '{"a":"\\u0041"}', '{"a":1,"a":2}', '{"a":{"b":1,"b":1}}', '{"a":1.0}', '{"a":1e2}', '{"a":-0}', '{"a":01}', '{"a":1E+21}', '{"a":1e400}', '{"a":12345678901234567890}', '{"a":.5}', '{"a":1.}', '{"a":tru}', '{"a":1,}', '{"a"}', "{}x", '{"b":1,"1":2}', '{"0":1}', '{"a":{"01":1}}', '{"__proto__":1}', '{"a":[{"__proto__":{}}]}', '{"a":"\ud800"}', '{"a":"\udc00\ud800"}', '{"a":"\u0001"}']) {
      expect(accepts(text), text).toBe(false);
    }
    for (const text of ['{"a":1,"b":{"a":1}}', '{"a":[1,{"a":1},{"a":2}]}', '{"a":1e+21}', '{"a":0.1}', '{"a":-1.5}', '{"a":123456789012345}', '{"a":1234567890123456}', '{"😀":"😀"}', "{}", '{"a":[]}']) {
      expect(accepts(text), text).toBe(true);
    }
  });

  it("counts nesting: the object and maxDepth levels below it", () => {
    const nested = (levels: number) => "[".repeat(levels) + "]".repeat(levels);
    expect(accepts(`{"a":${nested(31)}}`, 31)).toBe(true);
    expect(accepts(`{"a":${nested(32)}}`, 31)).toBe(false);
    expect(compactObjectEnd("[1]", 0, 31)).toBe(-1);
  });

  it("reads plain strings only: no escapes, no control characters, surrogates paired", () => {
    expect(plainStringEnd('"abc",', 0)).toBe(4);
    expect(plainStringEnd('"a\\"b"', 0)).toBe(-1);
    expect(plainStringEnd('"a\tb"', 0)).toBe(-1);
    expect(plainStringEnd('"😀"', 0)).toBe(3);
    expect(plainStringEnd('"\ud83d"', 0)).toBe(-1);
    expect(plainStringEnd('"abc', 0)).toBe(-1);
  });

  it("keeps track of keys across many and deeply nested objects", () => {
    const wide = JSON.stringify(Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, { x: i, y: [i] }])));
    expect(accepts(wide)).toBe(true);
    expect(accepts(wide.slice(0, -1) + ',"k4999":1}')).toBe(false);
  });

  it("finds a repeated key among many in linear time (a 10 MB body of keys must not block the server)", () => {
    // 300,000 keys: comparing each with every earlier one would be 4.5e10 comparisons (minutes,
    // past the test's timeout); a set makes it a fraction of a second.
    const keys = Array.from({ length: 300_000 }, (_, i) => `"k${String(i).padStart(7, "0")}":0`);
    const many = `{${keys.join(",")}}`;
    expect(compactObjectEnd(many, 0, 31)).toBe(many.length);
    expect(compactObjectEnd(`{${keys.join(",")},"k0000002":1}`, 0, 31)).toBe(-1);
    // Around the switch from comparing to looking up: a repeat of any earlier key is found.
    for (const n of [15, 16, 17, 18]) {
      const head = keys.slice(0, n).join(",");
      for (const r of [0, n - 1]) expect(compactObjectEnd(`{${head},"k${String(r).padStart(7, "0")}":1}`, 0, 31)).toBe(-1);
      expect(compactObjectEnd(`{${head},"other":1}`, 0, 31)).toBeGreaterThan(0);
    }
  });
});
