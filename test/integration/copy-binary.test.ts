// The direct write's binary COPY stores exactly what the text paths store: the same rows written
// by copyNewRows (binary COPY) and by insertBatch (small-batch INSERT over text arrays) read back
// identically, on the values where an encoder goes wrong (times before 2000 and at the ends of
// the range the service accepts, a negative high half before 2000, non-ASCII text, surrogate pairs, null metadata, large ids).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { parseOccurredAt } from "../../src/domain/timestamp.js";
import type { ValidRow } from "../../src/domain/types.js";

const at = (text: string): number => {
  const r = parseOccurredAt(text, Date.UTC(2300, 0) * 1000);
  if (!r.ok) throw new Error(r.reason);
  return r.value;
};

const TIMES = [
  "1970-01-01T00:00:00.000000Z",
  "1970-01-01T00:00:00.000001Z",
  "1990-06-15T12:00:00.500000Z",
  "1999-12-31T23:59:59.999999Z",
  "2000-01-01T00:00:00.000000Z",
  "2000-01-01T00:00:00.000001Z",
  "2026-12-04T05:06:07.123456Z",
  "2255-06-05T23:47:33.999999Z",
];
const METADATA = [null, "{}", '{"a":1}', '{"name":"Zoë","city":"東京","emoji":"😀","path":"a\\\\b","q":"\\""}', `{"long":"${"x".repeat(3000)}"}`];
const TYPES = ["t", "webinar_attended", "größe"];

function rows(phoneBase: number): ValidRow[] {
  const out: ValidRow[] = [];
  let i = 0;
  for (const time of TIMES) {
    for (const metadataJson of METADATA) {
      for (const eventType of TYPES) {
        out.push({ index: i, phoneE164: `+1${phoneBase + i}`, eventType, occurredAt: at(time), metadataJson });
        i++;
      }
    }
  }
  return out;
}

describe("binary COPY of new rows", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const read = (org: number) =>
    server.ctx.db.transaction(async (c) =>
      (
        await c.query<{ phone_e164: string; event_type: string; us: string; metadata: string | null }>(
          `select phone_e164, event_type, (extract(epoch from occurred_at) * 1000000)::int8 as us, metadata::text as metadata
             from lead_event where organization_id = $1 order by phone_e164, event_type`,
          [org],
        )
      ).rows,
    );

  it("stores every value as the text INSERT does", async () => {
    const text = await server.createOrg();
    const binary = await server.createOrg();
    const batch = rows(2015550000);
    // insertBatch takes the one-statement INSERT for up to SMALL_BATCH_ROWS rows.
    expect(batch.length).toBeLessThanOrEqual(500);
    const inserted = await server.ctx.db.transaction((c) => server.ctx.events.insertBatch(c, text.id, batch));
    const copied = await server.ctx.db.transaction((c) => server.ctx.events.copyNewRows(c, binary.id, [batch.slice(0, 50), [], batch.slice(50)]));
    expect(copied).toBe(batch.length);
    expect(inserted).toBe(batch.length);
    const fromText = await read(text.id);
    const fromBinary = await read(binary.id);
    expect(fromBinary).toEqual(fromText);
    // And both are the values given (metadata compared as values: jsonb orders keys its own way).
    const parsed = (xs: typeof fromBinary) => xs.map((x) => ({ ...x, metadata: x.metadata === null ? null : JSON.parse(x.metadata) }));
    const given = batch.map((r) => ({ phone_e164: r.phoneE164, event_type: r.eventType, us: String(r.occurredAt), metadata: r.metadataJson === null ? null : JSON.parse(r.metadataJson) }));
    expect(parsed(fromBinary)).toEqual(expect.arrayContaining(given));
    expect(fromBinary).toHaveLength(given.length);
  });

  it("writes nothing for no rows, and fails a stored key as a conflict", async () => {
    const org = await server.createOrg();
    expect(await server.ctx.db.transaction((c) => server.ctx.events.copyNewRows(c, org.id, []))).toBe(0);
    const batch = rows(2025550000).slice(0, 3);
    await server.ctx.db.transaction((c) => server.ctx.events.copyNewRows(c, org.id, [batch]));
    await expect(server.ctx.db.transaction((c) => server.ctx.events.copyNewRows(c, org.id, [batch.slice(1)]))).rejects.toMatchObject({ name: "DirectCopyConflict", sqlState: "23505" });
  });
});
