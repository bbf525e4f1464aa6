// The real-world scenario in ../shared/fixtures, checked at the domain level (no database): the
// two batches give EXPECTED.json's counts and first rejects, and the audience gives its
// unparseable and kept counts, with a Map standing in for the stored rows.
import { expect } from "vitest";
import { HAS_SHARED } from "../support/shared.js";
import { planBatch, createPhoneNormalizer, MICROS_PER_MINUTE, type RawEvent } from "../../src/domain/index.js";
import { readShared, readSharedText, itWithShared, describeWithShared } from "./shared-cases.js";
import { at } from "./time.js";

interface Expected {
  defaultRegion: string;
  batches: Record<string, { received: number; inserted: number; duplicates: number; rejected: number; rejects: { index: number; phoneE164: string; reason: string }[] }>;
  filters: { filter: { mode: "INCLUDE" | "EXCLUDE"; eventType: string; withinMinutes?: number }; asOf: string; audience: number; unparseable: number; keptCount: number; keptFirst10: string[] }[];
}


/** The phone column of audience.csv (external_id,name,phone,tags), honouring quotes. */
function phoneColumn(line: string): string {
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") cells.push(cell), (cell = "");
    else cell += ch;
  }
  cells.push(cell);
  return cells[2] ?? "";
}

describeWithShared("fixtures scenario (default region US)", () => {
  // Read only when ../shared exists: a skipped suite's body still runs to collect its tests.
  const expected = HAS_SHARED ? readShared<Expected>("fixtures/EXPECTED.json") : ({ defaultRegion: "US", batches: {}, filters: [] } as unknown as Expected);
  const rules = { defaultRegion: expected.defaultRegion, strict: false };
  const stored = new Map<string, { phone: string; type: string; at: number }>();

  itWithShared("gives each batch the expected counts and first 50 rejects", () => {
    for (const [file, want] of Object.entries(expected.batches)) {
      const body = readShared<{ eventType: string; events: RawEvent[] }>(`fixtures/${file}`);
      const plan = planBatch(body.events, body.eventType, { normalizePhone: createPhoneNormalizer(rules), nowMicros: at("2026-12-03T12:00:00Z") });
      let inserted = 0;
      let storedDuplicates = 0;
      for (const r of plan.rows) {
        const key = `${r.phoneE164} ${r.eventType} ${r.occurredAt}`;
        if (stored.has(key)) storedDuplicates++;
        else stored.set(key, { phone: r.phoneE164, type: r.eventType, at: r.occurredAt }), inserted++;
      }
      expect({ received: plan.received, inserted, duplicates: plan.inCallDuplicates + storedDuplicates, rejected: plan.rejected }, file).toEqual({
        received: want.received,
        inserted: want.inserted,
        duplicates: want.duplicates,
        rejected: want.rejected,
      });
      expect(plan.rejects.map((r) => ({ index: r.index, phoneE164: r.phoneE164, reason: r.reason })), file).toEqual(want.rejects);
    }
  });

  itWithShared("finds 478 unparseable audience phones and the expected kept sets", () => {
    const lines = readSharedText("fixtures/audience.csv").split(/\r?\n/).slice(1).filter((l) => l.length > 0);
    for (const f of expected.filters) {
      const normalize = createPhoneNormalizer(rules);
      const asOf = at(f.asOf);
      const from = f.filter.withinMinutes === undefined ? -Infinity : asOf - f.filter.withinMinutes * MICROS_PER_MINUTE;
      const hasEvent = new Set<string>();
      for (const r of stored.values()) if (r.type === f.filter.eventType && r.at <= asOf && r.at >= from) hasEvent.add(r.phone);
      let unparseable = 0;
      const kept = new Set<string>();
      for (const line of lines) {
        const phone = normalize(phoneColumn(line));
        if (phone === null) unparseable++;
        else if ((f.filter.mode === "INCLUDE") === hasEvent.has(phone)) kept.add(phone);
      }
      expect({ audience: lines.length, unparseable, keptCount: kept.size, keptFirst10: [...kept].sort().slice(0, 10) }).toEqual({
        audience: f.audience,
        unparseable: f.unparseable,
        keptCount: f.keptCount,
        keptFirst10: f.keptFirst10,
      });
    }
  });
});
