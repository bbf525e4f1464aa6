// The campaign filter's SQL must probe the primary key index once per phone: never a filter of
// `= ANY(array)` over lead_event rows, never NOT IN (a hashed SubPlan), never a scan of the
// organization's rows through another index. Checked with EXPLAIN on a table big enough that the
// planner's choice matters, both before PostgreSQL has statistics (a freshly loaded table) and
// after ANALYZE.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { eventPageQuery, phonesWithEventQuery, STAGE_DDL, stagedInsertQuery, storedKeysQuery, STAGED_INSERT_SETTINGS } from "../../src/db/lead-event-store.js";
import { parseRfc3339 } from "../../src/domain/timestamp.js";
import { filterWindow } from "../../src/domain/audience.js";

const AS_OF = micros("2026-11-30T20:00:00Z");

function micros(raw: string): number {
  const r = parseRfc3339(raw);
  if (!r.ok) throw new Error(r.detail);
  return r.micros;
}

describe("the filter query plan", () => {
  let server: TestServer;
  let client: pg.Client;
  let orgId: number;
  beforeAll(async () => {
    server = await startTestServer();
    const big = await server.createOrg();
    const small = await server.createOrg();
    orgId = big.id;
    client = new pg.Client({ connectionString: server.databaseUrl });
    await client.connect();
    // This test's own database: keep autovacuum from analyzing before the "without statistics" case.
    await client.query("alter table lead_event set (autovacuum_enabled = false)");
    // 400,000 rows for the organization under test (100,000 phones, four types, up to two
    // events each) and 50,000 for another one sharing the phones.
    await client.query(
      `insert into lead_event (organization_id, phone_e164, event_type, occurred_at)
       select $1, '+1201' || lpad(p::text, 7, '0'), t, timestamptz '2026-11-30T20:00:00Z' - (p % 1440) * interval '1 minute' - k * interval '1 day'
         from generate_series(0, 99999) p, unnest(array['webinar_attended', 'mastery_purchase', 'page_view', 'signup']) t, generate_series(0, 1) k
        where (p + k) % 2 = 0 or t = 'page_view'`,
      [orgId],
    );
    await client.query(
      `insert into lead_event (organization_id, phone_e164, event_type, occurred_at)
       select $1, '+1201' || lpad(p::text, 7, '0'), 'webinar_attended', timestamptz '2026-11-30T19:00:00Z'
         from generate_series(0, 49999) p`,
      [small.id],
    );
  });
  afterAll(async () => {
    await client?.end();
    await server?.close();
  });

  const audience = (n: number) => Array.from({ length: n }, (_, i) => `+1201${String(i * 2 + 1).padStart(7, "0")}`).sort();

  async function plan(phones: string[], withinMinutes: number | undefined): Promise<string> {
    const q = phonesWithEventQuery({ organizationId: orgId, phones, eventType: "webinar_attended", window: filterWindow(AS_OF, withinMinutes) });
    const { rows } = await client.query(`explain ${q.text}`, q.values);
    return rows.map((r: Record<string, string>) => r["QUERY PLAN"]).join("\n");
  }

  function expectIndexProbe(text: string): void {
    expect(text).toMatch(/Index (Only )?Scan( Backward)? using lead_event_pkey on lead_event/);
    expect(text).not.toMatch(/= ANY/i);
    expect(text).not.toMatch(/NOT IN|hashed SubPlan|SubPlan/i);
    expect(text).not.toMatch(/Seq Scan on lead_event|lead_event_org_time_idx|lead_event_org_type_time_idx|Hash Join|Hash Semi Join|Hash Anti Join/);
  }

  for (const stats of ["without statistics", "after ANALYZE"] as const) {
    it(`probes lead_event_pkey once per phone ${stats}, for 1,000 and 50,000 phones, with and without a window`, async () => {
      if (stats === "after ANALYZE") await client.query("analyze lead_event");
      const { rows } = await client.query("select count(*)::int as n from pg_stats where tablename = 'lead_event'");
      expect(rows[0].n > 0).toBe(stats === "after ANALYZE");
      for (const n of [1_000, 50_000]) {
        for (const within of [undefined, 120, 0]) {
          const text = await plan(audience(n), within);
          expectIndexProbe(text);
        }
      }
    });
  }

  it("answers 50,000 phones against 450,000 rows quickly (one descent per phone)", async () => {
    const q = phonesWithEventQuery({ organizationId: orgId, phones: audience(50_000), eventType: "webinar_attended", window: filterWindow(AS_OF, undefined) });
    const { rows } = await client.query(`explain (analyze, format json) ${q.text}`, q.values);
    const root = (rows[0] as { "QUERY PLAN": Array<{ "Execution Time": number; Plan: unknown }> })["QUERY PLAN"][0]!;
    expect(root["Execution Time"]).toBeLessThan(5_000);
  });

  // The large-batch insert must probe the primary key per staged row: a hash anti join would
  // read every row of the organization for every batch (what NOT EXISTS gets on this table).
  it("moves staged rows into lead_event with one primary-key probe each", async () => {
    await client.query("analyze lead_event");
    await client.query("begin");
    try {
      await client.query(STAGE_DDL);
      await client.query(
        `insert into lead_event_stage (ord, phone_e164, event_type, occurred_us, metadata)
         select p, '+1201' || lpad(p::text, 7, '0'), 'webinar_attended', 1764532800000000 + p, null from generate_series(0, 49999) p`,
      );
      const q = stagedInsertQuery(orgId);
      const { rows } = await client.query(`explain ${q.text}`, q.values);
      const text = rows.map((r: Record<string, string>) => r["QUERY PLAN"]).join("\n");
      expect(text).toMatch(/Nested Loop Left Join/);
      expect(text).toMatch(/Index (Only )?Scan using lead_event_pkey on lead_event e/);
      expect(text).not.toMatch(/Hash|Merge Join|Seq Scan on lead_event e|lead_event_org_time_idx|lead_event_org_type_time_idx/);
    } finally {
      await client.query("rollback");
    }
  });

  // QueryLeadEvents pages have only the primary key to read: without a phone, a page reads the
  // organization's key range (the small organization here: a tenth of the table), never the
  // table; with a phone, that phone's range of the key.
  it("reads a page from the organization's primary-key range, with or without a phone", async () => {
    await client.query("analyze lead_event");
    const smallOrg = Number((await client.query("select organization_id from lead_event group by 1 order by count(*) limit 1")).rows[0].organization_id);
    const after = { occurredAt: AS_OF - 3_600_000_000, phoneE164: "+12010005000", eventType: "webinar_attended" };
    for (const q of [
      { organizationId: smallOrg, limit: 100 },
      { organizationId: smallOrg, limit: 1000, after },
      { organizationId: smallOrg, limit: 100, eventType: "webinar_attended", occurredFrom: AS_OF - 86_400_000_000, occurredTo: AS_OF },
      { organizationId: orgId, limit: 100, phoneE164: "+12010000002" },
      { organizationId: orgId, limit: 100, phoneE164: "+12010000002", eventType: "page_view", after },
    ]) {
      const { text, values } = eventPageQuery(q);
      const { rows } = await client.query(`explain ${text}`, values);
      const plan = rows.map((r: Record<string, string>) => r["QUERY PLAN"]).join("\n");
      expect(plan).toMatch(/Index (Only )?Scan( Backward)? using lead_event_pkey on lead_event|Bitmap Index Scan on lead_event_pkey/);
      expect(plan).not.toMatch(/Seq Scan on lead_event/);
      if (q.phoneE164) expect(plan).toMatch(/phone_e164 = /);
    }
  });

  // The re-send path probes each key of a chunk through the primary key, never a join that reads
  // the organization's rows; with the send transaction's settings, also when statistics are stale.
  it("probes each key of a chunk through the primary key", async () => {
    const n = 2_000;
    const phones = Array.from({ length: n }, (_, i) => `+1201${String(i).padStart(7, "0")}`);
    const q = storedKeysQuery(orgId, phones, phones.map(() => "webinar_attended"), phones.map((_, i) => String(1764532800000000 + i)));
    await client.query("begin");
    try {
      await client.query(STAGED_INSERT_SETTINGS);
      const { rows } = await client.query(`explain ${q.text}`, q.values);
      const plan = rows.map((r: Record<string, string>) => r["QUERY PLAN"]).join("\n");
      expect(plan).toMatch(/Nested Loop/);
      expect(plan).toMatch(/Index Only Scan using lead_event_pkey on lead_event e/);
      expect(plan).not.toMatch(/Hash|Merge Join|Seq Scan on lead_event|lead_event_org_type_time_idx/);
    } finally {
      await client.query("rollback");
    }
  });
});
