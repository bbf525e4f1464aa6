// A re-send's key probes run on a second connection when the pool can spare one: the answer and
// the stored rows must be the same as with one connection, and a full pool must never wait.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { postJson, startTestServer, withAdminClient, type TestOrg, type TestServer } from "../support/test-server.js";
import type { SqlClient } from "../../src/db/database.js";

const REST = "/api/v1/webhooks/lead-events";

/** 6,000 events over 3,000 phones; every fifth row of the second half repeats the key of the row 3,000 before it. */
function batch(phoneBase: number) {
  return Array.from({ length: 6_000 }, (_, i) => ({
    phoneE164: `+1${phoneBase + (i % 3_000)}`,
    occurredAt: `2026-11-01T10:00:00.${String(i >= 3_000 && i % 5 === 0 ? i - 3_000 + 1 : i + 1).padStart(6, "0")}Z`,
    metadata: { i },
  }));
}

interface Outcome {
  answers: unknown[];
  rows: string[];
  spareUsed: boolean[];
}

/** New rows, a full re-send, then the same plus new rows, on a server with this pool size. */
async function run(poolSize: number): Promise<Outcome> {
  const server: TestServer = await startTestServer({ config: { dbPoolSize: poolSize } });
  try {
    const org: TestOrg = await server.createOrg();
    const spareUsed: boolean[] = [];
    const db = server.ctx.db;
    const original = db.withSpareTransaction.bind(db);
    // Observes whether the send got a second connection; the call itself is unchanged.
    db.withSpareTransaction = (fn, options) => original((spare) => (spareUsed.push(spare !== undefined), fn(spare)), options);
    const send = (events: unknown[]) => postJson(server.baseUrl + REST, { organizationId: org.id, eventType: "resend", events }, { authorization: `Bearer ${org.apiKey}` });
    const first = batch(4155550000);
    const answers: unknown[] = [];
    for (const events of [first, first, [...first.slice(0, 2_500), ...batch(4165550000).slice(0, 1_000), ...first.slice(2_500)]]) {
      const res = await send(events);
      expect(res.status).toBe(200);
      answers.push(res.body);
    }
    const own = new pg.Client({ connectionString: server.databaseUrl });
    await own.connect();
    let rows: string[];
    try {
      const r = await own.query<{ k: string }>(
        "select phone_e164 || ' ' || (extract(epoch from occurred_at) * 1000000)::int8 || ' ' || metadata::text as k from lead_event where organization_id = $1 order by 1",
        [org.id],
      );
      rows = r.rows.map((x) => x.k);
    } finally {
      await own.end();
    }
    return { answers, rows, spareUsed };
  } finally {
    await server.close();
  }
}

describe("re-send probes on a spare connection", () => {
  let withSpare: Outcome;
  let withoutSpare: Outcome;
  beforeAll(async () => {
    withSpare = await run(10);
    withoutSpare = await run(1);
  });

  it("probes on a second connection when the pool has room, and on one when it has none", () => {
    // The first send is new rows (direct COPY, no probing path); the other two probe.
    expect(withSpare.spareUsed).toEqual([true, true]);
    expect(withoutSpare.spareUsed).toEqual([false, false]);
  });

  it("answers and stores exactly the same either way", () => {
    expect(withSpare.answers).toEqual(withoutSpare.answers);
    expect(withSpare.rows).toEqual(withoutSpare.rows);
    const unique = 5_400;
    expect(withSpare.answers[0]).toMatchObject({ received: 6_000, inserted: unique, duplicates: 6_000 - unique, rejected: 0 });
    expect(withSpare.answers[1]).toMatchObject({ received: 6_000, inserted: 0, duplicates: 6_000 });
    expect(withSpare.answers[2]).toMatchObject({ received: 7_000, inserted: 1_000, duplicates: 6_000 });
    expect(withSpare.rows).toHaveLength(unique + 1_000);
    // The first metadata of each key wins: row 0's, not row 3,000's (same key).
    expect(withSpare.rows.filter((k) => k.startsWith("+14155550000 "))).toEqual([expect.stringMatching(/ \{"i":0\}$/)]);
  });
});

describe("withSpareTransaction", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ config: { dbPoolSize: 2 } });
  });
  afterAll(() => server?.close());

  const backend = async (c: SqlClient) => Number((await c.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid);

  it("gives a second connection in a read-only transaction of its own while one is left for the next caller", async () => {
    const db = server.ctx.db;
    // Pool of 2, nothing held: taking one as a spare still leaves one.
    const seen = await db.withSpareTransaction(async (spare) => {
      expect(spare).toBeDefined();
      await expect(spare!.query("create temp table nope (x int)")).rejects.toThrow(/read-only/);
      return true;
    }, { readOnly: true });
    expect(seen).toBe(true);
    // One held by a transaction: the last one is not taken, and nothing waits for it.
    await db.transaction(async (main) => {
      const mainPid = await backend(main);
      const got = await db.withSpareTransaction(async (spare) => (spare ? backend(spare) : undefined), { readOnly: true });
      expect(got).toBeUndefined();
      expect(mainPid).toBeGreaterThan(0);
    });
  });
});

describe("a spare that cannot be had", () => {
  const event = (i: number) => ({ phoneE164: `+1${4155550000 + (i % 5_000)}`, occurredAt: `2026-11-01T10:00:00.${String(i + 1).padStart(6, "0")}Z` });
  const rows = Array.from({ length: 6_000 }, (_, i) => event(i));

  it("re-sends on the one connection it has when PostgreSQL refuses a new one", async () => {
    const server = await startTestServer({ config: { dbPoolSize: 10 } });
    try {
      const org = await server.createOrg();
      const send = (events: unknown[]) => postJson(server.baseUrl + REST, { organizationId: org.id, eventType: "t", events }, { authorization: `Bearer ${org.apiKey}` });
      expect((await send(rows.slice(0, 3_000))).body.inserted).toBe(3_000);
      // The service keeps one live connection; no new one can be opened.
      await withAdminClient(async (c) => {
        await c.query(`alter database ${server.databaseName} allow_connections false`);
        await c.query(
          `select pg_terminate_backend(pid) from pg_stat_activity
            where datname = $1 and application_name = 'leadevents'
              and pid <> (select max(pid) from pg_stat_activity where datname = $1 and application_name = 'leadevents')`,
          [server.databaseName],
        );
      });
      // The pool drops the dead connections as it meets them.
      for (let i = 0; i < 12; i++) await send([event(90_000 + i)]);
      const res = await send(rows);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ received: 6_000, inserted: 3_000, duplicates: 3_000 });
    } finally {
      await withAdminClient((c) => c.query(`alter database ${server.databaseName} allow_connections true`));
      await server.close();
    }
  });

  it("re-sends on its own connection when the spare's backend dies mid-call", async () => {
    const server = await startTestServer({ config: { dbPoolSize: 10 } });
    const db = server.ctx.db;
    const original = db.withSpareTransaction.bind(db);
    let killed = 0;
    // The spare's backend is terminated (an operator, a proxy) just as it is lent.
    db.withSpareTransaction = (fn, options) =>
      original(async (spare) => {
        if (spare) {
          const pid = (await spare.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;
          await withAdminClient((c) => c.query("select pg_terminate_backend($1)", [pid]));
          killed++;
        }
        return fn(spare);
      }, options);
    try {
      const org = await server.createOrg();
      const send = (events: unknown[]) => postJson(server.baseUrl + REST, { organizationId: org.id, eventType: "t", events }, { authorization: `Bearer ${org.apiKey}` });
      expect((await send(rows.slice(0, 3_000))).body.inserted).toBe(3_000);
      const res = await send(rows);
      expect(killed).toBe(1);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ received: 6_000, inserted: 3_000, duplicates: 3_000 });
    } finally {
      await server.close();
    }
  });

  it("does not wait for a spare while the server shuts down", async () => {
    const server = await startTestServer({ config: { dbPoolSize: 10, shutdownGraceMs: 200 } });
    const org = await server.createOrg();
    const send = (events: unknown[]) => postJson(server.baseUrl + REST, { organizationId: org.id, eventType: "t", events }, { authorization: `Bearer ${org.apiKey}` });
    expect((await send(rows.slice(0, 3_000))).body.inserted).toBe(3_000);
    // An erasure of the organization in progress (its exclusive lock) holds the re-send at BEGIN
    // until the grace period is over and the pool is closing.
    const eraser = new pg.Client({ connectionString: server.databaseUrl });
    await eraser.connect();
    await eraser.query("begin");
    await eraser.query("select pg_advisory_xact_lock(hashtextextended('leadevents.erasure', $1::int8))", [org.id]);
    const inFlight = send(rows).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const closing = server.app.close();
    await new Promise((r) => setTimeout(r, 400));
    await eraser.query("rollback");
    await eraser.end();
    await closing;
    // Before: the re-send waited out the pool's 10 s acquire timeout for a spare, then rolled back.
    expect(Date.now() - started).toBeLessThan(3_000);
    await inFlight;
    const check = new pg.Client({ connectionString: server.databaseUrl });
    await check.connect();
    const stored = Number((await check.query("select count(*) from lead_event where organization_id = $1", [org.id])).rows[0].count);
    await check.end();
    // Still running at the end of the grace period: cancelled and rolled back (see app.ts).
    expect(stored).toBe(3_000);
    await server.close();
  });
});
