// DeleteLeadEvents: erase a phone's events, keep a tombstone, and refuse replays of erased data
// (as erased_phone rejects) while newer events are accepted again.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer, type TestOrg } from "../support/test-server.js";
import { connectJsonClient, grpcClient, queryAll, restClient, type LeadEventsClient } from "../support/clients.js";
import { connectJsonReadClient, grpcReadClient } from "../support/read-clients.js";

const PHONE = "+14155550132";

describe("DeleteLeadEvents", () => {
  let server: TestServer;
  let json: LeadEventsClient;
  let db: pg.Client;
  beforeAll(async () => {
    server = await startTestServer();
    json = connectJsonClient(server.baseUrl);
    db = new pg.Client({ connectionString: server.databaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await server?.close();
  });

  const oldBatch = (orgId: number) => ({
    organizationId: String(orgId),
    eventType: "webinar_attended",
    events: [
      { phoneE164: "+14155550131", occurredAt: "2026-11-30T18:00:00Z" },
      { phoneE164: PHONE, occurredAt: "2026-11-30T18:01:00Z" },
      { phoneE164: "+14155550133", occurredAt: "2026-11-30T18:02:00Z" },
      { phoneE164: "(415) 555-0132", occurredAt: "2026-11-30T18:03:00Z", eventType: "mastery_purchase" },
      { phoneE164: PHONE, occurredAt: "2026-11-30T18:01:00Z" },
    ],
  });
  const erase = (org: TestOrg, phoneE164: string, eventType = "", key = org.apiKey) =>
    connectJsonReadClient(server.baseUrl).deleteLeadEvents({ organizationId: String(org.id), phoneE164, eventType }, key);
  const phonesOf = async (org: TestOrg) => (await queryAll(json, org.id, org.apiKey)).map((e) => `${e.phoneE164} ${e.eventType}`).sort();

  it("deletes every event of the phone in any spelling, returns the count, and leaves other phones and organizations alone", async () => {
    const org = await server.createOrg({ defaultRegion: "US" });
    const other = await server.createOrg({ defaultRegion: "US" });
    await json.send(oldBatch(org.id), org.apiKey);
    await json.send(oldBatch(other.id), other.apiKey);
    const res = await erase(org, "(415) 555-0132");
    expect(res.ok && res.body).toEqual({ deletedCount: 2 });
    expect(await phonesOf(org)).toEqual(["+14155550131 webinar_attended", "+14155550133 webinar_attended"]);
    expect(await phonesOf(other)).toHaveLength(4);
    const again = await erase(org, PHONE);
    expect(again.ok && again.body).toEqual({ deletedCount: 0 });
  });

  it("rejects a replay of the erased rows as erased_phone, in input order, counted, and stores none of them", async () => {
    const org = await server.createOrg({ defaultRegion: "US" });
    await json.send(oldBatch(org.id), org.apiKey);
    await erase(org, PHONE);
    for (const client of [restClient(server.baseUrl), json, grpcClient(server.baseUrl)]) {
      const res = await client.send(oldBatch(org.id), org.apiKey);
      expect(res.ok, JSON.stringify(res)).toBe(true);
      if (!res.ok) continue;
      expect(res.body).toMatchObject({ received: 5, inserted: 0, duplicates: 2, rejected: 3 });
      expect(res.body.rejects).toEqual([
        { index: 1, phoneE164: PHONE, code: "REJECT_CODE_ERASED_PHONE", reason: "erased phoneE164" },
        { index: 3, phoneE164: "(415) 555-0132", code: "REJECT_CODE_ERASED_PHONE", reason: "erased phoneE164" },
        { index: 4, phoneE164: PHONE, code: "REJECT_CODE_ERASED_PHONE", reason: "erased phoneE164" },
      ]);
    }
    expect(await phonesOf(org)).toEqual(["+14155550131 webinar_attended", "+14155550133 webinar_attended"]);
  });

  it("accepts the phone's events that occurred after the erasure", async () => {
    const org = await server.createOrg({ defaultRegion: "US" });
    await json.send(oldBatch(org.id), org.apiKey);
    await erase(org, PHONE);
    const later = new Date(Date.now() + 5 * 60_000).toISOString();
    const res = await json.send({ organizationId: String(org.id), eventType: "webinar_attended", events: [{ phoneE164: PHONE, occurredAt: later }, { phoneE164: PHONE, occurredAt: "2026-11-30T18:01:00Z" }] }, org.apiKey);
    expect(res.ok && res.body).toMatchObject({ inserted: 1, rejected: 1, rejects: [{ index: 1, code: "REJECT_CODE_ERASED_PHONE" }] });
  });

  it("erases one type only when asked, and its tombstone covers that type only", async () => {
    const org = await server.createOrg({ defaultRegion: "US" });
    await json.send(oldBatch(org.id), org.apiKey);
    const res = await grpcReadClient(server.baseUrl).deleteLeadEvents({ organizationId: String(org.id), phoneE164: PHONE, eventType: "mastery_purchase" }, org.apiKey);
    expect(res.ok && res.body).toEqual({ deletedCount: 1 });
    expect(await phonesOf(org)).toContain(`${PHONE} webinar_attended`);
    const replay = await json.send(oldBatch(org.id), org.apiKey);
    expect(replay.ok && replay.body).toMatchObject({ received: 5, inserted: 0, duplicates: 4, rejected: 1, rejects: [{ index: 3, code: "REJECT_CODE_ERASED_PHONE" }] });
    const otherType = await json.send({ organizationId: String(org.id), eventType: "visited", events: [{ phoneE164: PHONE, occurredAt: "2026-11-30T18:04:00Z" }] }, org.apiKey);
    expect(otherType.ok && otherType.body.inserted).toBe(1);
  });

  it("keeps a tombstone for a phone with no events yet, so data in flight cannot land later", async () => {
    const org = await server.createOrg({ defaultRegion: "US" });
    const res = await erase(org, PHONE);
    expect(res.ok && res.body).toEqual({ deletedCount: 0 });
    const late = await json.send(oldBatch(org.id), org.apiKey);
    expect(late.ok && late.body).toMatchObject({ inserted: 2, rejected: 3 });
  });

  it("keeps the first 50 rejects sorted by index when erased and invalid rows interleave", async () => {
    const org = await server.createOrg({ defaultRegion: "US" });
    await erase(org, PHONE);
    const events = Array.from({ length: 300 }, (_, i) =>
      i % 3 === 0 ? { phoneE164: "nope", occurredAt: "2026-11-30T18:00:00Z" }
      : i % 3 === 1 ? { phoneE164: PHONE, occurredAt: `2026-11-30T18:00:00.${String(i).padStart(6, "0")}Z` }
      : { phoneE164: `+1415555${1000 + i}`, occurredAt: "2026-11-30T18:00:00Z" });
    const res = await json.send({ organizationId: String(org.id), eventType: "x", events }, org.apiKey);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.body).toMatchObject({ received: 300, inserted: 100, duplicates: 0, rejected: 200 });
    const idx = res.body.rejects.map((r: any) => r.index);
    expect(idx).toEqual(Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 3 !== 2).slice(0, 50));
    expect(res.body.rejects[0].code).toBe("REJECT_CODE_INVALID_PHONE");
    expect(res.body.rejects[1].code).toBe("REJECT_CODE_ERASED_PHONE");
  });

  it("never lets a send racing an erasure bring erased rows back", async () => {
    const org = await server.createOrg({ defaultRegion: "US" });
    const batch = (round: number) => ({
      organizationId: String(org.id),
      eventType: "race",
      events: Array.from({ length: 5_000 }, (_, i) => ({ phoneE164: i % 10 === 0 ? PHONE : `+1415556${String(i).padStart(4, "0")}`, occurredAt: `2026-11-30T18:00:00.${String(round * 10_000 + i).padStart(6, "0")}Z` })),
    });
    for (let round = 0; round < 8; round++) {
      // A send before, during and after the erasure.
      const results = await Promise.all([json.send(batch(round), org.apiKey), erase(org, PHONE), json.send(batch(round + 50), org.apiKey)]);
      for (const r of results) expect(r.ok, JSON.stringify(r).slice(0, 200)).toBe(true);
      const { rows } = await db.query(
        `select count(*)::int as n from lead_event e join erasure_tombstone t
            on t.organization_id = e.organization_id and t.phone_e164 = e.phone_e164 and t.event_type = ''
         where e.organization_id = $1 and e.occurred_at <= t.erased_before`,
        [org.id],
      );
      expect(rows[0].n, `round ${round}`).toBe(0);
    }
  });

  it("needs the admin scope, the caller's organization and a parseable phone; event_type must be a valid type", async () => {
    const org = await server.createOrg({ defaultRegion: "US" });
    const readKey = await server.createKey(org.id, ["read", "ingest"]);
    const noScope = await erase(org, PHONE, "", readKey);
    expect(noScope.ok ? "ok" : noScope.code).toBe("permission_denied");
    const other = await server.createOrg();
    const cross = await connectJsonReadClient(server.baseUrl).deleteLeadEvents({ organizationId: String(org.id), phoneE164: PHONE }, other.apiKey);
    expect(cross.ok ? "ok" : cross.code).toBe("permission_denied");
    for (const [phone, type] of [["", ""], ["not a phone", ""], [PHONE, " padded"]] as const) {
      const res = await erase(org, phone, type);
      expect(res.ok ? "ok" : res.code, `${phone}/${type}`).toBe("invalid_argument");
    }
  });

  it("logs the erasure with a masked phone only", async () => {
    const org = await server.createOrg({ defaultRegion: "US" });
    await erase(org, "+14155559876");
    const text = server.logs.join("\n");
    expect(text).toContain("lead events erased");
    expect(text).not.toContain("4155559876");
  });
});
