// QueryLeadEvents: filters, newest first, opaque keyset pages that stay stable under inserts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestServer, type TestServer, type TestOrg } from "../support/test-server.js";
import { connectJsonClient, grpcClient, queryAll } from "../support/clients.js";

describe("QueryLeadEvents", () => {
  let server: TestServer;
  let org: TestOrg;
  const json = () => connectJsonClient(server.baseUrl);

  beforeAll(async () => {
    server = await startTestServer();
    org = await server.createOrg({ defaultRegion: "US" });
    const events = [];
    for (let i = 0; i < 25; i++) {
      events.push({ phoneE164: `+1415555${String(1000 + (i % 5))}`, occurredAt: `2026-11-30T18:${String(i).padStart(2, "0")}:00Z`, eventType: i % 2 ? "odd" : "even" });
    }
    // Three rows sharing one instant: ties are ordered by phone, then type.
    events.push({ phoneE164: "+14155552000", occurredAt: "2026-11-30T18:10:00Z", eventType: "even" });
    events.push({ phoneE164: "+14155552001", occurredAt: "2026-11-30T18:10:00Z", eventType: "even" });
    const res = await json().send({ organizationId: String(org.id), events }, org.apiKey);
    expect(res.ok && res.body.inserted).toBe(27);
  });
  afterAll(() => server?.close());

  it("returns events newest first", async () => {
    const all = await queryAll(json(), org.id, org.apiKey);
    expect(all).toHaveLength(27);
    const times = all.map((e) => e.occurredAt);
    expect([...times].sort().reverse()).toEqual(times);
    expect(all[0]).toMatchObject({ occurredAt: "2026-11-30T18:24:00Z", eventType: "even" });
    expect(all[0].receivedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/);
  });

  it("pages with an opaque token without losing or repeating a row, even when rows arrive between pages", async () => {
    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const res = await json().query({ organizationId: String(org.id), pageSize: 4, pageToken }, org.apiKey);
      if (!res.ok) throw new Error(res.message);
      seen.push(...res.body.events.map((e: any) => `${e.occurredAt} ${e.phoneE164} ${e.eventType}`));
      pageToken = res.body.nextPageToken;
      if (pages++ === 1) {
        // A newer and an older row arrive mid-listing: the newer is before our cursor (not
        // shown), the older after it (shown once).
        await json().send({ organizationId: String(org.id), eventType: "late", events: [{ phoneE164: "+14155559000", occurredAt: "2026-11-30T19:00:00Z" }, { phoneE164: "+14155559001", occurredAt: "2026-11-30T17:00:00Z" }] }, org.apiKey);
      }
    } while (pageToken);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toHaveLength(28);
    expect(seen.at(-1)).toContain("17:00:00Z");
  });

  it("filters by phone in any accepted spelling, by type, and by an inclusive time range", async () => {
    const byPhone = await queryAll(json(), org.id, org.apiKey, { phoneE164: "(415) 555-1000" });
    expect(byPhone.every((e) => e.phoneE164 === "+14155551000")).toBe(true);
    expect(byPhone).toHaveLength(5);
    const odd = await queryAll(grpcClient(server.baseUrl), org.id, org.apiKey, { eventType: "odd" });
    expect(odd).toHaveLength(12);
    const range = await queryAll(json(), org.id, org.apiKey, { occurredAtFrom: "2026-11-30T13:05:00-05:00", occurredAtTo: "2026-11-30T18:07:00Z" });
    expect(range.map((e) => e.occurredAt.slice(11, 16))).toEqual(["18:07", "18:06", "18:05"]);
  });

  it("refuses a token used with other filters, a forged token, a bad time and a bad phone", async () => {
    const first = await json().query({ organizationId: String(org.id), pageSize: 2 }, org.apiKey);
    const token = first.ok ? first.body.nextPageToken : "";
    const other = await json().query({ organizationId: String(org.id), pageSize: 2, eventType: "odd", pageToken: token }, org.apiKey);
    expect(other.ok ? "ok" : other.code).toBe("invalid_argument");
    const forged = await json().query({ organizationId: String(org.id), pageToken: "bm90LWEtdG9rZW4" }, org.apiKey);
    expect(forged.ok ? "ok" : forged.code).toBe("invalid_argument");
    const badTime = await json().query({ organizationId: String(org.id), occurredAtFrom: "2026-02-30T00:00:00Z" }, org.apiKey);
    expect(badTime.ok ? "ok" : badTime.code).toBe("invalid_argument");
    const badPhone = await json().query({ organizationId: String(org.id), phoneE164: "hello" }, org.apiKey);
    expect(badPhone.ok ? "ok" : badPhone.code).toBe("invalid_argument");
    const nulType = await json().query({ organizationId: String(org.id), eventType: "a\u0000b" }, org.apiKey);
    expect(nulType.ok ? "ok" : nulType.code).toBe("invalid_argument");
    const forgedNul = Buffer.from(JSON.stringify({ v: 1, o: 1, p: "+1\u0000", t: "odd", f: "x" })).toString("base64url");
    const nulToken = await json().query({ organizationId: String(org.id), pageToken: forgedNul }, org.apiKey);
    expect(nulToken.ok ? "ok" : nulToken.code).toBe("invalid_argument");
  });

  it("caps page_size at 1,000 and defaults it to 100", async () => {
    const res = await json().query({ organizationId: String(org.id), pageSize: 5000 }, org.apiKey);
    expect(res.ok && res.body.events.length).toBe(29);
    const neg = await json().query({ organizationId: String(org.id), pageSize: -1 }, org.apiKey);
    expect(neg.ok ? "ok" : neg.code).toBe("invalid_argument");
  });

  it("shows one organization nothing of another", async () => {
    const other = await server.createOrg();
    expect(await queryAll(json(), other.id, other.apiKey)).toEqual([]);
    const cross = await json().query({ organizationId: String(org.id) }, other.apiKey);
    expect(cross.ok ? "ok" : cross.code).toBe("permission_denied");
  });

  describe("newest first across types (merged from the per-type index)", () => {
    let other: TestOrg;
    const rows: Array<{ phoneE164: string; eventType: string; occurredAt: string }> = [];
    beforeAll(async () => {
      other = await server.createOrg();
      // 7 types of very different sizes, many ties on one instant across phones and types.
      const types = ["a", "B", "b", "zz", "webinar_attended", "mastery_purchase", "x".repeat(128)];
      for (let i = 0; i < 700; i++) {
        const type = types[i % 7 === 0 ? i % 5 : i % 3]!;
        const minute = i % 11 === 0 ? 0 : i % 97;
        rows.push({ phoneE164: `+1646555${String(1000 + (i % 230)).padStart(4, "0")}`, eventType: type, occurredAt: `2026-11-30T${String(10 + Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}:00${i % 3 === 0 ? "" : `.00000${i % 3}`}Z` });
      }
      rows.push({ phoneE164: "+16465559999", eventType: types[6]!, occurredAt: "2026-11-30T09:00:00Z" });
      const res = await json().send({ organizationId: String(other.id), events: rows }, other.apiKey);
      expect(res.ok).toBe(true);
    });

    // Canonical times (no fraction, or 6 digits) -> text that sorts in time order.
    const norm = (t: string) => (t.includes(".") ? t : t.replace("Z", ".000000Z"));

    // The reference order: occurredAt desc, then phone desc, then type desc (code-unit order).
    function expected(filter: (r: (typeof rows)[number]) => boolean = () => true): string[] {
      const keyOf = (r: { occurredAt: string; phoneE164: string; eventType: string }) => `${r.occurredAt} ${r.phoneE164} ${r.eventType}`;
      const unique = [...new Map(rows.filter(filter).map((r) => [keyOf(r), r])).values()];
      const cmp = (x: string, y: string) => (x < y ? 1 : x > y ? -1 : 0);
      return unique.sort((x, y) => cmp(norm(x.occurredAt), norm(y.occurredAt)) || cmp(x.phoneE164, y.phoneE164) || cmp(x.eventType, y.eventType)).map(keyOf);
    }

    for (const pageSize of [1, 7, 100, 1000]) {
      it(`pages through every type in one order with pages of ${pageSize}`, async () => {
        const seen: string[] = [];
        let pageToken = "";
        do {
          const res = await json().query({ organizationId: String(other.id), pageSize, pageToken }, other.apiKey);
          if (!res.ok) throw new Error(res.message);
          expect(res.body.events.length).toBeLessThanOrEqual(pageSize);
          seen.push(...res.body.events.map((e: any) => `${e.occurredAt} ${e.phoneE164} ${e.eventType}`));
          pageToken = res.body.nextPageToken;
        } while (pageToken && seen.length < 2_000);
        expect(seen).toEqual(expected());
      });
    }

    it("applies an inclusive time range across types", async () => {
      const from = "2026-11-30T10:30:00Z";
      const to = "2026-11-30T11:00:00.000001Z";
      const got = await queryAll(json(), other.id, other.apiKey, { occurredAtFrom: from, occurredAtTo: to });
      expect(got.map((e) => `${e.occurredAt} ${e.phoneE164} ${e.eventType}`)).toEqual(expected((r) => norm(r.occurredAt) >= norm(from) && norm(r.occurredAt) <= norm(to)));
    });
  });

  // lead_event.metadata is json: what is stored is the compact text, and it reads back with the
  // keys in the order they were sent, whichever write path took the row (unnest for one event,
  // COPY for a large batch, the staging table for a batch that met a stored key).
  it("returns metadata with its keys in the order sent, on every write path", async () => {
    const meta = { zeta: 1, alpha: { b: 2, a: [1, { y: 0, x: null }] }, "10": "integer-like keys come first", mid: true, s: "ünïcödé" };
    const spaced = '{ "zeta": 1, "alpha": {"b": 2, "a": [1, {"y": 0, "x": null}]}, "10": "integer-like keys come first", "mid": true, "s": "\u00fcn\u00efc\u00f6d\u00e9" }';
    const readBack = await server.createOrg({ defaultRegion: "US" });
    const big = (type: string, first: number) =>
      Array.from({ length: 600 }, (_, i) => ({ phoneE164: `+1415556${String(first + i).padStart(4, "0")}`, occurredAt: "2026-11-30T18:00:00Z", eventType: type, metadata: meta }));
    const send = async (body: unknown) => {
      const res = await json().send({ organizationId: String(readBack.id), ...(body as object) }, readBack.apiKey);
      if (!res.ok) throw new Error(res.message);
      return res.body;
    };
    expect((await send({ events: [{ phoneE164: "+14155550001", occurredAt: "2026-11-30T18:00:00Z", eventType: "one" }] })).inserted).toBe(1);
    await server.app.db.withClient((c) =>
      c.query(`update lead_event set metadata = $2::json where organization_id = $1`, [readBack.id, spaced]),
    );
    expect((await send({ events: big("copy", 0) })).inserted).toBe(600);
    // Starts with a stored key: the probing path.
    expect((await send({ events: [...big("copy", 0).slice(0, 1), ...big("copy", 600)] })).inserted).toBe(600);
    const rows = await queryAll(json(), readBack.id, readBack.apiKey);
    expect(rows).toHaveLength(1201);
    for (const row of rows) {
      expect(Object.keys(row.metadata)).toEqual(["10", "zeta", "alpha", "mid", "s"]);
      expect(row.metadata).toEqual(meta);
    }
    const grpcRows = await queryAll(grpcClient(server.baseUrl), readBack.id, readBack.apiKey, { eventType: "copy" });
    expect(Object.keys(grpcRows[0].metadata)).toEqual(["10", "zeta", "alpha", "mid", "s"]);
    const stored = await server.app.db.withClient(async (c) =>
      (await c.query(`select distinct metadata::text as m from lead_event where organization_id = $1 and event_type = 'copy'`, [readBack.id])).rows.map((r) => r.m),
    );
    expect(stored).toEqual([JSON.stringify(meta)]);

    // A body over 256 KB (read in place) and metadataJson text, with the integer-like key sent
    // last: stored as every other path stores it, integer-like key first.
    const wireOrder = '{"zeta":1,"alpha":{"b":2,"a":[1,{"y":0,"x":null}]},"mid":true,"s":"ünïcödé","10":"integer-like keys come first"}';
    const rows2 = Array.from({ length: 1500 }, (_, i) => ({ phoneE164: `+1415557${String(i).padStart(4, "0")}`, occurredAt: "2026-11-30T18:00:00Z", eventType: i % 2 ? "in place" : "as text", ...(i % 2 ? {} : { metadataJson: wireOrder }) }));
    const body = JSON.stringify({ organizationId: String(readBack.id), events: rows2 }).replace(/"eventType":"in place"/g, `"eventType":"in place","metadata":${wireOrder}`);
    expect(body.length).toBeGreaterThan(256 * 1024);
    const res = await postJson(`${server.baseUrl}/api/v1/webhooks/lead-events`, body, { authorization: `Bearer ${readBack.apiKey}`, "content-type": "application/json" });
    expect(res.body).toMatchObject({ inserted: 1500 });
    const stored2 = await server.app.db.withClient(async (c) =>
      (await c.query(`select distinct metadata::text as m from lead_event where organization_id = $1 and event_type in ('in place', 'as text')`, [readBack.id])).rows.map((r) => r.m),
    );
    expect(stored2).toEqual([JSON.stringify(meta)]);
  });
});
