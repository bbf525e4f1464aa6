// The lazy reader of large JSON send bodies: whatever it accepts, JSON.parse accepts with the
// same values; everything else is handed back (null or LazyBodyFallback) to be parsed whole.
import { describe, expect, it } from "vitest";
import { prng } from "../bench/data.js"; // seeded, so a failure can be replayed
import { mutateText } from "../support/mutate.js";
import { LazyBodyFallback, openLazySendBody } from "../../src/server/send-json-stream.js";
import { sendInputFromJson } from "../../src/server/send-body.js";
import type { RawEvent } from "../../src/domain/types.js";
import { AppError } from "../../src/domain/errors.js";
import { checkMetadata, CompactMetadataText } from "../../src/domain/metadata.js";

/**
 * The lazy reading gives the events the whole reading gives, except that metadata it read in
 * place is its text (CompactMetadataText): that text must be the same value, of the same compact
 * length, and be judged the same by the metadata rules.
 */
function expectSameEvents(lazy: RawEvent[], whole: readonly RawEvent[], context: string): void {
  expect(lazy.length, context).toBe(whole.length);
  for (let k = 0; k < lazy.length; k++) {
    const l = lazy[k]!;
    const w = whole[k]!;
    if (!(l.metadata instanceof CompactMetadataText)) {
      expect(l, context).toEqual(w);
      continue;
    }
    const { metadata: lm, ...lRest } = l;
    const { metadata: wm, ...wRest } = w;
    expect(lRest, context).toEqual(wRest);
    const text = (lm as CompactMetadataText).text;
    expect(JSON.parse(text), context).toEqual(wm);
    expect(text.length, context).toBe(JSON.stringify(wm).length);
    const [lc, wc] = [checkMetadata(lm), checkMetadata(wm)];
    expect(lc.ok, context).toBe(wc.ok);
    if (lc.ok && wc.ok) expect(JSON.parse(lc.value!), context).toEqual(JSON.parse(wc.value!));
    else expect(lc, context).toEqual(wc);
  }
}

function readLazily(text: string, size = 3): { envelope: Record<string, unknown>; events: RawEvent[] } | "whole" {
  const lazy = openLazySendBody(text, 0);
  if (lazy === null) return "whole";
  const events: RawEvent[] = [];
  try {
    for (const chunk of lazy.events.chunks(size)) {
      expect(chunk.length).toBeLessThanOrEqual(size);
      events.push(...chunk);
    }
  } catch (err) {
    if (err instanceof LazyBodyFallback) return "whole";
    throw err;
  }
  return { envelope: lazy.envelope, events };
}

function readWhole(text: string): RawEvent[] {
  return sendInputFromJson(JSON.parse(text), false).events as RawEvent[];
}

const TRICKY = ['a"b', "c\\", "[{", "}]", "\\\"", "é", "😀", "\u2028", ",", ":", "\\u0041", " "];

function randomValue(rand: () => number, depth: number): unknown {
  const r = rand();
  if (depth > 3 || r < 0.3) return TRICKY[Math.floor(rand() * TRICKY.length)]! + String(Math.floor(rand() * 100));
  if (r < 0.45) return Math.floor(rand() * 1e6) / (rand() < 0.5 ? 1 : 7);
  if (r < 0.55) return rand() < 0.5;
  if (r < 0.6) return null;
  if (r < 0.8) return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1));
  const o: Record<string, unknown> = {};
  for (let k = 0; k < Math.floor(rand() * 4); k++) o[TRICKY[Math.floor(rand() * TRICKY.length)]! + k] = randomValue(rand, depth + 1);
  return o;
}

function randomBody(rand: () => number): string {
  const events = Array.from({ length: Math.floor(rand() * 12) }, (_, i) =>
    rand() < 0.1 ? randomValue(rand, 2) : { phoneE164: `+1415555${String(1000 + i)}`, occurredAt: "2026-11-30T18:34:00Z", metadata: randomValue(rand, 1), ...(rand() < 0.2 ? { eventType: "x" } : {}) },
  );
  const body = { organizationId: 7, eventType: "webinar_attended", events };
  return JSON.stringify(body, null, rand() < 0.3 ? Math.floor(rand() * 3) : undefined);
}

describe("the lazy send body reader", () => {
  it("reads the usual body chunk by chunk with the same events as JSON.parse", () => {
    const rand = prng(1);
    let inPlace = 0;
    for (let n = 0; n < 300; n++) {
      const text = randomBody(rand);
      const lazy = readLazily(text, 1 + (n % 4));
      expect(lazy).not.toBe("whole");
      if (lazy === "whole") return;
      expect(lazy.envelope).toEqual({ organizationId: 7, eventType: "webinar_attended" });
      expectSameEvents(lazy.events, readWhole(text), text);
      inPlace += lazy.events.filter((e) => e.metadata instanceof CompactMetadataText).length;
    }
    // Both readings were exercised: compact metadata read in place, the rest through JSON.parse.
    expect(inPlace).toBeGreaterThan(100);
  });

  it("never accepts what JSON.parse refuses, and agrees with it on what it accepts (mutated bodies)", () => {
    const rand = prng(2);
    const alphabet = ['"', "\\", "[", "]", "{", "}", ",", ":", " ", "a", "1", "\n"];
    let accepted = 0;
    for (let n = 0; n < 3000; n++) {
      const text = mutateText(rand, randomBody(rand), alphabet);
      let whole: unknown;
      let valid = true;
      try {
        whole = JSON.parse(text);
      } catch {
        valid = false;
      }
      let lazy: ReturnType<typeof readLazily>;
      try {
        lazy = readLazily(text, 1 + (n % 3));
      } catch (err) {
        // A refusal of its own (too many events, say) is not an acceptance.
        expect(err).toBeInstanceOf(AppError);
        continue;
      }
      if (lazy === "whole") continue;
      accepted++;
      expect(valid, text).toBe(true);
      const o = whole as Record<string, unknown>;
      expectSameEvents(lazy.events, sendInputFromJson(o, false).events as RawEvent[], text);
      const { events: _events, ...envelope } = o;
      expect(lazy.envelope).toEqual(envelope);
    }
    expect(accepted).toBeGreaterThan(100);
  });

  it("hands back bodies of other shapes: members after events, escaped or unusual names, no events array", () => {
    const ev = '{"phoneE164":"+14155551000","occurredAt":"2026-11-30T18:34:00Z"}';
    expect(readLazily(`{"events":[${ev}],"eventType":"late"}`)).toBe("whole");
    expect(readLazily(`{"ev\\u0065nts":[${ev}]}`)).toBe("whole");
    expect(readLazily(`{"events":{"0":${ev}}}`)).toBe("whole");
    expect(readLazily(`[${ev}]`)).toBe("whole");
    expect(readLazily(`{"eventType":"a"}`)).toBe("whole");
    expect(readLazily(`{"events":[${ev}]} x`)).toBe("whole");
    expect(readLazily(`{"events":[${ev},]}`)).toBe("whole");
    expect(readLazily(`{"events":[${ev}]`)).toBe("whole");
    // Small bodies are read whole by default.
    expect(openLazySendBody(`{"events":[${ev}]}`)).toBeNull();
  });

  it("takes the last of repeated members before events, as JSON.parse does, and keeps __proto__ as a member", () => {
    const lazy = readLazily('{"eventType":"a","eventType":"b","__proto__":1,"events":[]}');
    expect(lazy).not.toBe("whole");
    if (lazy === "whole") return;
    expect(lazy.envelope.eventType).toBe("b");
    expect(Object.getPrototypeOf(lazy.envelope)).toBe(Object.prototype);
    expect(Object.hasOwn(lazy.envelope, "__proto__")).toBe(true);
    expect(lazy.events).toEqual([]);
  });

  it("makes the first chunk as small as asked, the others of the full size", () => {
    const ev = '{"phoneE164":"+14155551000","occurredAt":"2026-11-30T18:34:00Z"}';
    const lazy = openLazySendBody(`{"events":[${Array.from({ length: 10 }, () => ev).join(",")}]}`, 0)!;
    expect([...lazy.events.chunks(4, 1)].map((c) => c.length)).toEqual([1, 4, 4, 1]);
  });

  it("refuses more than 50,000 events with the exact count", () => {
    const text = `{"eventType":"t","events":[${Array.from({ length: 50_003 }, () => "1").join(",")}]}`;
    const lazy = openLazySendBody(text, 0)!;
    expect(() => [...lazy.events.chunks(2000)]).toThrowError(/at most 50,000 per call, got 50,003/);
  });
});
