// SendLeadEvents end to end: real server, real PostgreSQL, real HTTP clients.
import http from "node:http";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestServer, withAdminClient, type TestServer, type TestOrg } from "../support/test-server.js";
import { connectJsonClient, grpcClient, queryAll, restClient } from "../support/clients.js";

const REST = "/api/v1/webhooks/lead-events";

function events(n: number, opts: { phoneBase?: number; type?: string; start?: number } = {}) {
  const base = opts.phoneBase ?? 2015550000;
  return Array.from({ length: n }, (_, i) => ({
    phoneE164: `+1${base + (i % 10000)}`,
    occurredAt: `2026-11-${String(1 + Math.floor(i / 10000)).padStart(2, "0")}T10:00:00.${String((opts.start ?? 0) + 1).padStart(6, "0")}Z`,
    metadata: { i },
  }));
}

describe("SendLeadEvents", () => {
  let server: TestServer;
  let org: TestOrg;
  beforeAll(async () => {
    server = await startTestServer();
    org = await server.createOrg({ defaultRegion: "US" });
  });
  afterAll(() => server?.close());

  const send = (body: unknown, key = org.apiKey) => postJson(server.baseUrl + REST, body, { authorization: `Bearer ${key}` });

  describe("authentication and tenancy", () => {
    const body = () => ({ organizationId: org.id, eventType: "t", events: [{ phoneE164: "+14155550100", occurredAt: "2026-11-30T18:34:00Z" }] });

    it("refuses a request without an Authorization header with 401", async () => {
      const res = await postJson(server.baseUrl + REST, body());
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ code: "unauthenticated", reason: "CREDENTIALS_MISSING" });
    });

    it("refuses a malformed or unknown bearer key with 401", async () => {
      expect((await send(body(), "not-a-key")).body.error.reason).toBe("API_KEY_MALFORMED");
      const other = await server.createKey(org.id, ["ingest"]);
      const tampered = other.slice(0, -7) + (other.at(-7) === "A" ? "B" : "A") + other.slice(-6);
      expect((await send(body(), tampered)).status).toBe(401);
    });

    it("stops accepting a revoked key at once", async () => {
      const key = await server.createKey(org.id, ["ingest"]);
      expect((await send(body(), key)).status).toBe(200);
      const [record] = (await server.ctx.apiKeys.list(org.id)).filter((k) => key.startsWith(k.prefix));
      await server.ctx.apiKeys.revoke(org.id, record!.id);
      const res = await send(body(), key);
      expect(res.status).toBe(401);
      expect(res.body.error.reason).toBe("API_KEY_UNKNOWN");
    });

    it("refuses another organization's id with 403, the same whether it exists or not", async () => {
      const other = await server.createOrg();
      const existing = await send({ ...body(), organizationId: other.id });
      const missing = await send({ ...body(), organizationId: 987654321 });
      expect(existing.status).toBe(403);
      expect(missing.status).toBe(403);
      expect(existing.body.error.reason).toBe("ORGANIZATION_MISMATCH");
      expect(missing.body.error.message.replace("987654321", String(other.id))).toBe(existing.body.error.message);
      expect(await queryAll(connectJsonClient(server.baseUrl), other.id, other.apiKey)).toEqual([]);
    });

    it("needs the ingest scope to send and the read scope to query", async () => {
      const readOnly = await server.createKey(org.id, ["read"]);
      const ingestOnly = await server.createKey(org.id, ["ingest"]);
      const res = await send(body(), readOnly);
      expect(res.status).toBe(403);
      expect(res.body.error.reason).toBe("SCOPE_MISSING");
      const q = await connectJsonClient(server.baseUrl).query({ organizationId: String(org.id) }, ingestOnly);
      expect(q.ok ? "ok" : q.code).toBe("permission_denied");
    });

    it("accepts organizationId as a JSON number or string, and defaults to the key's organization", async () => {
      expect((await send({ ...body(), organizationId: String(org.id) })).status).toBe(200);
      const { organizationId: _omit, ...noOrg } = body();
      expect((await send(noOrg)).status).toBe(200);
      expect((await send({ ...body(), organizationId: "12abc" })).body.error.reason).toBe("ORGANIZATION_ID_INVALID");
    });
  });

  describe("refused calls", () => {
    it("answers malformed JSON with 400 and stores nothing", async () => {
      const res = await send('{"organizationId": 1, "events": [');
      expect(res.status).toBe(400);
      expect(res.body.error.reason).toBe("BODY_MALFORMED_JSON");
    });

    it("refuses more than 50,000 events with 413 naming the cap, over REST and Connect", async () => {
      const many = { organizationId: org.id, eventType: "cap", events: events(50_001).map(({ metadata: _m, ...e }) => e) };
      const res = await send(many);
      expect(res.status).toBe(413);
      expect(res.body.error.message).toContain("50,000");
      const connect = await connectJsonClient(server.baseUrl).send(many, org.apiKey);
      expect(connect.ok ? "ok" : connect.code).toBe("resource_exhausted");
      expect(await queryAll(connectJsonClient(server.baseUrl), org.id, org.apiKey, { eventType: "cap" })).toEqual([]);
    });

    it("refuses a body over 10 MB from Content-Length before reading it, with 413", async () => {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(server.baseUrl + REST, { method: "POST", headers: { authorization: `Bearer ${org.apiKey}`, "content-type": "application/json", "content-length": String(11 * 1024 * 1024) } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on("error", reject);
        req.write("{"); // the rest never comes: the answer must not wait for it
      });
      expect(status).toBe(413);
    });

    it("refuses a chunked body that grows past 10 MB while it streams", async () => {
      const huge = JSON.stringify({ organizationId: org.id, eventType: "big", events: [{ phoneE164: "+14155550100", occurredAt: "2026-11-30T18:34:00Z", metadata: { pad: "x".repeat(11 * 1024 * 1024) } }] });
      const res = await fetch(server.baseUrl + REST, {
        method: "POST",
        headers: { authorization: `Bearer ${org.apiKey}`, "content-type": "application/json" },
        body: new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(huge)); c.close(); } }),
        duplex: "half",
      } as RequestInit);
      expect(res.status).toBe(413);
    });

    it("refuses an invalid batch eventType with 400 and an empty events list with 400", async () => {
      const bad = await send({ organizationId: org.id, eventType: " padded", events: [{ phoneE164: "+14155550100", occurredAt: "2026-11-30T18:34:00Z" }] });
      expect(bad.status).toBe(400);
      expect(bad.body.error.reason).toBe("EVENT_TYPE_INVALID");
      expect((await send({ organizationId: org.id, eventType: "t", events: [] })).body.error.reason).toBe("EVENTS_EMPTY");
      expect((await send({ organizationId: org.id, eventType: "t" })).body.error.reason).toBe("EVENTS_INVALID");
    });

    it("rejects a non-object event as a row, not the call", async () => {
      const res = await send({ organizationId: org.id, eventType: "rows", events: [null, 5, { phoneE164: "+14155550100", occurredAt: "2026-11-30T18:34:00Z" }] });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ received: 3, inserted: 1, rejected: 2 });
    });
  });

  describe("row rules over every encoding", () => {
    it("rejects a non-string occurredAt as a row over Connect JSON instead of failing the call", async () => {
      const res = await connectJsonClient(server.baseUrl).send({ organizationId: String(org.id), eventType: "typed", events: [{ phoneE164: "+14155550100", occurredAt: 1764527640 }, { phoneE164: "+14155550101", occurredAt: "2026-11-30T18:34:00Z", metadata: "text" }] }, org.apiKey);
      expect(res.ok).toBe(true);
      if (res.ok) expect(res.body.rejects.map((r: any) => r.code)).toEqual(["REJECT_CODE_INVALID_OCCURRED_AT", "REJECT_CODE_INVALID_METADATA"]);
    });

    it("accepts the proto field names in JSON bodies", async () => {
      const res = await send({ organization_id: org.id, event_type: "snake", events: [{ phone_e164: "+14155550100", occurred_at: "2026-11-30T18:34:00Z" }] });
      expect(res.body).toMatchObject({ inserted: 1 });
    });

    it("accepts a gzip-compressed body", async () => {
      const body = gzipSync(JSON.stringify({ organizationId: org.id, eventType: "gz", events: [{ phoneE164: "+14155550100", occurredAt: "2026-11-30T18:34:00Z" }] }));
      const res = await fetch(server.baseUrl + REST, { method: "POST", headers: { authorization: `Bearer ${org.apiKey}`, "content-type": "application/json", "content-encoding": "gzip" }, body });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ inserted: 1 });
    });

    it("keeps microseconds exact through gRPC and queries", async () => {
      const grpc = grpcClient(server.baseUrl);
      const res = await grpc.send({ organizationId: String(org.id), eventType: "micro", events: [
        { phoneE164: "+14155550177", occurredAt: "2026-11-30T18:34:00.000001Z" },
        { phoneE164: "+14155550177", occurredAt: "2026-11-30T18:34:00.000002Z" },
        { phoneE164: "+14155550177", occurredAt: "2026-11-30T18:34:00.0000019Z" },
      ] }, org.apiKey);
      expect(res.ok && res.body).toMatchObject({ inserted: 2, duplicates: 1 });
      const stored = await queryAll(grpc, org.id, org.apiKey, { eventType: "micro" });
      expect(stored.map((e) => e.occurredAt)).toEqual(["2026-11-30T18:34:00.000002Z", "2026-11-30T18:34:00.000001Z"]);
    });

    it("keeps the first metadata of a duplicate, within a call and across calls", async () => {
      const ev = (m: number) => ({ phoneE164: "+14155550178", occurredAt: "2026-11-30T18:34:00Z", metadata: { m } });
      await send({ organizationId: org.id, eventType: "first-wins", events: [ev(1), ev(2)] });
      const again = await send({ organizationId: org.id, eventType: "first-wins", events: [ev(3)] });
      expect(again.body).toMatchObject({ inserted: 0, duplicates: 1 });
      const stored = await queryAll(restClient(server.baseUrl), org.id, org.apiKey, { eventType: "first-wins" });
      expect(stored.map((e) => e.metadata)).toEqual([{ m: 1 }]);
    });
  });

  describe("large batches (validated while they are copied)", () => {
    it("keeps the first of in-call repeats, exact extreme times, rejects in order, and counts a partial re-send", async () => {
      const n = 3_000;
      const evs: Array<Record<string, unknown>> = events(n, { phoneBase: 6175550000 }).map((e, i) => ({ ...e, metadata: { i } }));
      // Repeats of row 10 far apart (the last one in another COPY chunk), with other metadata.
      evs.push({ ...evs[10]!, metadata: { i: -1 } }, { ...evs[10]!, occurredAt: "2026-11-01T05:00:00.000001-05:00", metadata: { i: -2 } });
      // The extremes of what a send accepts (1970 to now + 1 hour), odd microseconds.
      const soon = new Date(Date.now() + 30 * 60_000).toISOString().replace(/\.\d+Z$/, ".999999Z");
      evs.push({ phoneE164: "+16175559990", occurredAt: "1970-01-01T00:00:00.000001Z" }, { phoneE164: "+16175559991", occurredAt: soon });
      // Rejects spread over the chunks.
      for (let k = 0; k < 60; k++) evs.splice(k * 50 + 7, 0, { phoneE164: `bad ${k}`, occurredAt: "2026-11-30T18:34:00Z" });
      const body = { organizationId: org.id, eventType: "large", events: evs };
      const res = await send(body);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ received: evs.length, inserted: n + 2, duplicates: 2, rejected: 60 });
      expect(res.body.rejects).toHaveLength(50);
      expect(res.body.rejects.map((r: { index: number }) => r.index)).toEqual(Array.from({ length: 50 }, (_, k) => k * 50 + 7));

      const rest = restClient(server.baseUrl);
      const first = await queryAll(rest, org.id, org.apiKey, { eventType: "large", phoneE164: String(evs.find((e) => (e.metadata as { i?: number } | undefined)?.i === 10)!.phoneE164) });
      expect(first.map((e) => e.metadata)).toEqual([{ i: 10 }]);
      const extremes = [...(await queryAll(rest, org.id, org.apiKey, { eventType: "large", phoneE164: "+16175559990" })), ...(await queryAll(rest, org.id, org.apiKey, { eventType: "large", phoneE164: "+16175559991" }))];
      expect(extremes.map((e) => e.occurredAt)).toEqual(["1970-01-01T00:00:00.000001Z", soon]);

      // The same batch plus 100 new rows: only those are inserted.
      const more = events(100, { phoneBase: 6185550000 });
      const again = await send({ ...body, events: [...evs, ...more] });
      expect(again.body).toMatchObject({ inserted: 100, duplicates: n + 4, rejected: 60 });

      // New rows first (a whole first chunk of them), stored ones after: the fast path meets a
      // stored key mid-batch and the call is redone on the staging path, with the same answer.
      const fresh = events(2_500, { phoneBase: 6195550000 });
      const mixed = await send({ ...body, events: [...fresh, ...evs] });
      expect(mixed.body).toMatchObject({ inserted: 2_500, duplicates: n + 4, rejected: 60 });
      expect(server.logs.some((l) => l.includes("direct copy conflict"))).toBe(true);
      const stored = await queryAll(rest, org.id, org.apiKey, { eventType: "large" });
      expect(stored).toHaveLength(n + 2 + 100 + 2_500);
    });
  });

  describe("large bodies read lazily", () => {
    const big = (n: number, phoneBase: number) => events(n, { phoneBase }).map((e) => ({ ...e, metadata: { note: "x".repeat(60) } }));

    it("answers the same when members follow the events, stores nothing of a malformed body, and counts past 50,000", async () => {
      const evs = big(4_000, 7015550000);
      const text = JSON.stringify({ events: evs, organizationId: org.id, eventType: "lazy-after" });
      const res = await postRaw(text);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ received: 4_000, inserted: 4_000 });
      expect(await queryAll(restClient(server.baseUrl), org.id, org.apiKey, { eventType: "lazy-after" })).toHaveLength(4_000);

      // Broken near the end: the first chunks were already on their way to the database.
      const good = JSON.stringify({ organizationId: org.id, eventType: "lazy-broken", events: big(4_000, 7025550000) });
      const at = good.lastIndexOf("},{");
      const broken = good.slice(0, at) + "};{" + good.slice(at + 3);
      const bad = await postRaw(broken);
      expect(bad.status).toBe(400);
      const body = (await bad.json()) as { error: { reason: string; message: string } };
      expect(body.error.reason).toBe("BODY_MALFORMED_JSON");
      expect(body.error.message).toMatch(/^the body is not valid JSON: /);
      expect(await queryAll(restClient(server.baseUrl), org.id, org.apiKey, { eventType: "lazy-broken" })).toHaveLength(0);

      const many = `{"organizationId":${org.id},"eventType":"lazy-many","events":[${Array.from({ length: 50_010 }, (_, i) => `{"phoneE164":"+1702555${String(i % 10_000).padStart(4, "0")}","occurredAt":"2026-11-30T18:34:00Z"}`).join(",")}]}`;
      const tooMany = await postRaw(many);
      expect(tooMany.status).toBe(413);
      expect(((await tooMany.json()) as { error: { message: string } }).error.message).toContain("got 50,010");
      expect(await queryAll(restClient(server.baseUrl), org.id, org.apiKey, { eventType: "lazy-many" })).toHaveLength(0);
    });

    it("answers as the whole-body reading does when a refused member is repeated after events, or the body is malformed", async () => {
      const evs = JSON.stringify(big(3_000, 7035550000));
      const cases: Array<[string, number, string?]> = [
        [`{"organizationId":${org.id},"eventType":"bad type\\u0001","events":${evs},"eventType":"lazy-last-wins"}`, 200],
        [`{"organizationId":987654,"eventType":"lazy-last-wins","events":${evs},"organizationId":${org.id}}`, 200],
        [`{"organizationId":${org.id},"eventType":"lazy-last-wins","validateOnly":"yes","events":${evs},"validateOnly":false}`, 200],
        [`{"organizationId":987654,"eventType":"x","events":${evs.slice(0, -1)},}]}`, 400, "BODY_MALFORMED_JSON"],
        [`{"organizationId":${org.id},"eventType":" x","events":${evs.slice(0, -1)},}]}`, 400, "BODY_MALFORMED_JSON"],
      ];
      for (const [text, status, reason] of cases) {
        const res = await postRaw(text);
        const body = (await res.json()) as { error?: { reason: string } };
        expect(res.status, JSON.stringify(body).slice(0, 200)).toBe(status);
        if (reason) expect(body.error?.reason).toBe(reason);
      }
      // The three accepted bodies are the same 3,000 rows.
      expect(await queryAll(restClient(server.baseUrl), org.id, org.apiKey, { eventType: "lazy-last-wins" })).toHaveLength(3_000);
    });

    async function postRaw(text: string): Promise<Response> {
      return fetch(server.baseUrl + REST, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${org.apiKey}` }, body: text });
    }
  });

  describe("concurrency and atomicity", () => {
    it("inserts each row once when two identical 10,000-event batches arrive at the same moment", async () => {
      const batch = { organizationId: org.id, eventType: "race", events: events(10_000) };
      const [a, b] = await Promise.all([send(batch), send(batch)]);
      expect(a.status).toBe(200);
      expect(b.status).toBe(200);
      expect(a.body.inserted + b.body.inserted).toBe(10_000);
      expect(a.body.duplicates + b.body.duplicates).toBe(10_000);
    });

    it("lets two overlapping batches in opposite key order both succeed (no deadlock)", async () => {
      const all = events(20_000, { phoneBase: 3125550000 });
      const a = { organizationId: org.id, eventType: "overlap", events: all.slice(0, 15_000) };
      const b = { organizationId: org.id, eventType: "overlap", events: all.slice(5_000).reverse() };
      const results = await Promise.all([send(a), send(b), send({ ...a, events: [...a.events].reverse() }), send(b)]);
      for (const r of results) expect(r.status, JSON.stringify(r.body).slice(0, 200)).toBe(200);
      const inserted = results.reduce((s, r) => s + r.body.inserted, 0);
      expect(inserted).toBe(20_000);
    });

    it("stores nothing of a call whose connection dies mid-insert, answers 503, and recovers", async () => {
      // A real failure inside the statement: the backend is killed after 500 rows were written.
      await withAdminClient(async () => undefined);
      const admin = new (await import("pg")).default.Client({ connectionString: server.databaseUrl });
      await admin.connect();
      await admin.query(`
        create or replace function le_test_die() returns trigger language plpgsql as $$
        begin
          if new.event_type = 'doomed' and new.phone_e164 = '+12015550500' then
            perform pg_terminate_backend(pg_backend_pid());
          end if;
          return new;
        end $$;
        create trigger le_test_die before insert on lead_event for each row execute function le_test_die();`);
      try {
        const res = await send({ organizationId: org.id, eventType: "doomed", events: events(1000) });
        expect(res.status).toBe(503);
        expect(res.body.error.code).toBe("unavailable");
        const { rows } = await admin.query("select count(*)::int as n from lead_event where event_type = 'doomed'");
        expect(rows[0].n).toBe(0);
      } finally {
        await admin.query("drop trigger le_test_die on lead_event");
        await admin.end();
      }
      const retry = await send({ organizationId: org.id, eventType: "doomed", events: events(1000) });
      expect(retry.status).toBe(200);
      expect(retry.body.inserted).toBe(1000);
    });
  });

  it("never writes a full phone number or an API key to the logs", async () => {
    await send({ organizationId: org.id, eventType: "privacy", events: [{ phoneE164: "+14155559876", occurredAt: "2026-11-30T18:34:00Z" }, { phoneE164: "bad 4155559876", occurredAt: "x" }] });
    const text = server.logs.join("\n");
    expect(text).not.toContain("4155559876");
    expect(text).not.toContain(org.apiKey);
    expect(text).not.toContain(org.apiKey.slice(4, 20));
  });
});
