// FilterAudience and FilterAudienceStream end to end: semantics (include/exclude, windows, asOf,
// tenancy), refusals, sizes, and the streamed form over gRPC.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer, type TestOrg } from "../support/test-server.js";
import { connectJsonClient, grpcClient, type LeadEventsClient } from "../support/clients.js";
import { grpcReadClient } from "../support/read-clients.js";

const AS_OF = "2026-11-30T20:00:00Z";

describe("FilterAudience", () => {
  let server: TestServer;
  let org: TestOrg;
  let json: LeadEventsClient;
  let grpc: LeadEventsClient;

  const send = async (o: TestOrg, eventType: string, events: Array<{ phoneE164: string; occurredAt: string }>) => {
    const res = await json.send({ organizationId: String(o.id), eventType, events }, o.apiKey);
    if (!res.ok || res.body.rejected !== 0) throw new Error(`send failed: ${JSON.stringify(res)}`);
  };
  const filter = (o: TestOrg, f: Record<string, unknown>, phones: string[], extra: Record<string, unknown> = {}, client = json) =>
    client.filter({ organizationId: String(o.id), filter: f, asOf: AS_OF, phones, ...extra }, o.apiKey);
  const kept = async (f: Record<string, unknown>, phones: string[], extra: Record<string, unknown> = {}) => {
    const res = await filter(org, f, phones, extra);
    if (!res.ok) throw new Error(`${res.code}: ${res.message}`);
    return res.body.keptPhones as string[];
  };

  beforeAll(async () => {
    server = await startTestServer();
    json = connectJsonClient(server.baseUrl);
    grpc = grpcClient(server.baseUrl);
    org = await server.createOrg({ defaultRegion: "US" });
    await send(org, "webinar_attended", [
      { phoneE164: "+14155550101", occurredAt: "2026-11-30T18:00:00Z" }, // exactly 120 min before asOf
      { phoneE164: "+14155550102", occurredAt: "2026-11-30T17:59:59.999999Z" }, // 1 µs outside 120 min
      { phoneE164: "+14155550103", occurredAt: "2026-11-30T20:00:00Z" }, // exactly at asOf
      { phoneE164: "+14155550104", occurredAt: "2026-11-30T20:00:00.000001Z" }, // 1 µs after asOf
      { phoneE164: "+14155550105", occurredAt: "2026-11-30T19:00:00Z" },
      { phoneE164: "+14155550105", occurredAt: "2026-11-30T19:30:00.5Z" }, // newest for 0105
      { phoneE164: "+14155550105", occurredAt: "2026-11-30T21:00:00Z" }, // after asOf: never counts
    ]);
    await send(org, "Webinar_Attended", [{ phoneE164: "+14155550106", occurredAt: "2026-11-30T19:00:00Z" }]);
  });
  afterAll(() => server?.close());

  const AUDIENCE = ["+14155550101", "+14155550102", "+14155550103", "+14155550104", "+14155550105", "+14155550106", "+14155550107"];

  it("includes the phones with the event up to asOf, and never counts an event after asOf", async () => {
    expect(await kept({ mode: "FILTER_MODE_INCLUDE", eventType: "webinar_attended" }, AUDIENCE)).toEqual(["+14155550101", "+14155550102", "+14155550103", "+14155550105"]);
  });

  it("treats both ends of a window as inclusive, to the microsecond", async () => {
    expect(await kept({ mode: "FILTER_MODE_INCLUDE", eventType: "webinar_attended", withinMinutes: 120 }, AUDIENCE)).toEqual(["+14155550101", "+14155550103", "+14155550105"]);
    expect(await kept({ mode: "FILTER_MODE_EXCLUDE", eventType: "webinar_attended", withinMinutes: 120 }, AUDIENCE)).toEqual(["+14155550102", "+14155550104", "+14155550106", "+14155550107"]);
  });

  it("with withinMinutes 0 counts only events exactly at asOf", async () => {
    expect(await kept({ mode: "FILTER_MODE_INCLUDE", eventType: "webinar_attended", withinMinutes: 0 }, AUDIENCE)).toEqual(["+14155550103"]);
  });

  it("makes include and exclude complements over the parseable audience, over Connect JSON and gRPC", async () => {
    const audience = [...AUDIENCE, "(415) 555-0101", "not a phone", "+14155550199", "+14155550105"];
    for (const client of [json, grpc]) {
      for (const within of [undefined, 30, 120, 100_000]) {
        const f = (mode: string) => ({ mode, eventType: "webinar_attended", ...(within !== undefined ? { withinMinutes: within } : {}) });
        const inc = await filter(org, f("FILTER_MODE_INCLUDE"), audience, {}, client);
        const exc = await filter(org, f("FILTER_MODE_EXCLUDE"), audience, {}, client);
        if (!inc.ok || !exc.ok) throw new Error("filter failed");
        const both = [...inc.body.keptPhones, ...exc.body.keptPhones];
        expect(new Set(both).size).toBe(both.length);
        expect(both.sort()).toEqual([...new Set([...AUDIENCE, "+14155550199"])].sort());
        expect(inc.body.unparseablePhones).toEqual(["not a phone"]);
        expect(inc.body.audienceCount).toBe(audience.length);
        expect(inc.body.keptCount + exc.body.keptCount).toBe(8);
      }
    }
  });

  it("matches event types exactly: another case is another type, an unknown type matches nobody", async () => {
    expect(await kept({ mode: "FILTER_MODE_INCLUDE", eventType: "Webinar_Attended" }, AUDIENCE)).toEqual(["+14155550106"]);
    expect(await kept({ mode: "FILTER_MODE_INCLUDE", eventType: "no_such_type" }, AUDIENCE)).toEqual([]);
    expect(await kept({ mode: "FILTER_MODE_EXCLUDE", eventType: "no_such_type" }, AUDIENCE)).toEqual(AUDIENCE);
  });

  it("never counts another organization's events", async () => {
    const other = await server.createOrg({ defaultRegion: "US" });
    await send(other, "webinar_attended", [{ phoneE164: "+14155550107", occurredAt: "2026-11-30T19:00:00Z" }]);
    expect(await kept({ mode: "FILTER_MODE_INCLUDE", eventType: "webinar_attended" }, ["+14155550107"])).toEqual([]);
    const res = await filter(other, { mode: "FILTER_MODE_INCLUDE", eventType: "webinar_attended" }, AUDIENCE);
    expect(res.ok && res.body.keptPhones).toEqual(["+14155550107"]);
  });

  it("normalizes the audience with the organization's rules: kept phones once each, sorted; unparseable as sent, in order", async () => {
    const res = await filter(org, { mode: "FILTER_MODE_EXCLUDE", eventType: "none" }, ["+14155550109", "‪(415) 555-0108‬", "tel:+1-415-555-0109", "x", "", "x", "14155550108"]);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.body).toMatchObject({ keptPhones: ["+14155550108", "+14155550109"], unparseablePhones: ["x", "", "x"], audienceCount: 7, keptCount: 2 });
    const strict = await server.createOrg({ defaultRegion: "US", strictPhoneValidation: true });
    const s = await filter(strict, { mode: "FILTER_MODE_EXCLUDE", eventType: "none" }, ["+1 555 123 4567", "+1 201 555 0123"]);
    expect(s.ok && s.body.unparseablePhones).toEqual(["+1 555 123 4567"]);
    const noRegion = await server.createOrg();
    const n = await filter(noRegion, { mode: "FILTER_MODE_EXCLUDE", eventType: "none" }, ["(415) 555-0108"]);
    expect(n.ok && n.body.unparseablePhones).toEqual(["(415) 555-0108"]);
  });

  it("explains each decision with the newest matching occurredAt", async () => {
    const res = await filter(org, { mode: "FILTER_MODE_EXCLUDE", eventType: "webinar_attended", withinMinutes: 120 }, ["+14155550105", "+14155550104", "+14155550101", "+14155550105"], { explain: true });
    expect(res.ok && res.body.decisions).toEqual([
      { phoneE164: "+14155550101", kept: false, matchedOccurredAt: "2026-11-30T18:00:00Z" },
      { phoneE164: "+14155550104", kept: true, matchedOccurredAt: "" },
      { phoneE164: "+14155550105", kept: false, matchedOccurredAt: "2026-11-30T19:30:00.5Z" },
    ]);
    const plain = await filter(org, { mode: "FILTER_MODE_EXCLUDE", eventType: "webinar_attended" }, ["+14155550105"]);
    expect(plain.ok && plain.body.decisions).toEqual([]);
  });

  it("uses the current time when asOf is empty", async () => {
    const now = new Date(Date.now() - 60_000).toISOString();
    await send(org, "just_now", [{ phoneE164: "+14155550120", occurredAt: now }]);
    const res = await json.filter({ organizationId: String(org.id), filter: { mode: "FILTER_MODE_INCLUDE", eventType: "just_now", withinMinutes: 5 }, phones: ["+14155550120"] }, org.apiKey);
    expect(res.ok && res.body.keptPhones).toEqual(["+14155550120"]);
  });

  it("refuses an unspecified mode, a missing filter or event type, a negative window and a bad asOf with INVALID_ARGUMENT", async () => {
    const bad = [
      { filter: { mode: "FILTER_MODE_UNSPECIFIED", eventType: "webinar_attended" } },
      { filter: { eventType: "webinar_attended" } },
      {},
      { filter: { mode: "FILTER_MODE_INCLUDE", eventType: "" } },
      { filter: { mode: "FILTER_MODE_INCLUDE", eventType: " webinar_attended" } },
      { filter: { mode: "FILTER_MODE_INCLUDE", eventType: "webinar_attended", withinMinutes: -1 } },
      { filter: { mode: "FILTER_MODE_INCLUDE", eventType: "webinar_attended" }, asOf: "2026-02-30T10:00:00Z" },
      { filter: { mode: "FILTER_MODE_INCLUDE", eventType: "webinar_attended" }, asOf: "2026-11-30T20:00:00" },
      { filter: { mode: "FILTER_MODE_INCLUDE", eventType: "webinar_attended" }, asOf: "yesterday" },
    ];
    for (const client of [json, grpc]) {
      for (const b of bad) {
        const res = await client.filter({ organizationId: String(org.id), asOf: AS_OF, phones: ["+14155550101"], ...b }, org.apiKey);
        expect(res.ok ? "" : res.message, JSON.stringify(b)).not.toMatch(/internal/i);
        expect(res.ok ? "ok" : res.code, JSON.stringify(b)).toBe("invalid_argument");
      }
    }
    const feb30 = await json.filter({ organizationId: String(org.id), filter: { mode: "FILTER_MODE_INCLUDE", eventType: "x" }, asOf: "2026-02-30T10:00:00Z", phones: [] }, org.apiKey);
    expect(!feb30.ok && feb30.message).toContain("February");
  });

  it("needs the read scope and the caller's own organization", async () => {
    const ingestOnly = await server.createKey(org.id, ["ingest"]);
    const f = { mode: "FILTER_MODE_INCLUDE", eventType: "webinar_attended" };
    const noScope = await json.filter({ organizationId: String(org.id), filter: f, phones: AUDIENCE }, ingestOnly);
    expect(noScope.ok ? "ok" : noScope.code).toBe("permission_denied");
    const other = await server.createOrg();
    const cross = await json.filter({ organizationId: String(org.id), filter: f, phones: AUDIENCE }, other.apiKey);
    expect(cross.ok ? "ok" : cross.code).toBe("permission_denied");
    const readOnly = await server.createKey(org.id, ["read"]);
    const ok = await json.filter({ filter: f, asOf: AS_OF, phones: AUDIENCE }, readOnly);
    expect(ok.ok && ok.body.keptCount).toBe(4);
  });

  it("takes 100,000 phones in one call and refuses 100,001 with RESOURCE_EXHAUSTED naming the cap", async () => {
    // 100,000 distinct numbers (+1 212 5xx xxxx), one of which had the event.
    const phones = Array.from({ length: 100_000 }, (_, i) => (i === 0 ? "+14155550101" : `+12125${String(i).padStart(6, "0")}`));
    const res = await filter(org, { mode: "FILTER_MODE_EXCLUDE", eventType: "webinar_attended" }, phones);
    expect(res.ok, JSON.stringify(res).slice(0, 200)).toBe(true);
    if (res.ok) {
      expect(res.body.audienceCount).toBe(100_000);
      expect(res.body.keptCount).toBe(99_999);
    }
    for (const client of [json, grpc]) {
      const over = await filter(org, { mode: "FILTER_MODE_EXCLUDE", eventType: "webinar_attended" }, [...phones, "+14155550102"], {}, client);
      expect(over.ok ? "ok" : over.code).toBe("resource_exhausted");
      expect(over.ok ? "" : over.message).toContain("100,000");
    }
  });

  it("is not offered over HTTP GET (phones must not end up in URLs)", async () => {
    const message = encodeURIComponent(JSON.stringify({ organizationId: String(org.id), filter: { mode: "FILTER_MODE_INCLUDE", eventType: "x" }, phones: ["+14155550101"] }));
    const res = await fetch(`${server.baseUrl}/leadevents.v1.LeadEventService/FilterAudience?encoding=json&message=${message}&connect=v1`, { headers: { authorization: `Bearer ${org.apiKey}` } });
    // Connect answers GET only for methods marked side-effect-free; this one is not.
    expect(res.status).toBe(405);
  });

  it("never writes an audience phone to the logs", async () => {
    await filter(org, { mode: "FILTER_MODE_INCLUDE", eventType: "webinar_attended" }, ["+14155557788", "bad 4155557789"], { explain: true });
    const text = server.logs.join("\n");
    expect(text).not.toContain("4155557788");
    expect(text).not.toContain("4155557789");
  });

  describe("FilterAudienceStream", () => {
    const stream = () => grpcReadClient(server.baseUrl);

    it("gives the unary answer for an audience streamed in chunks, phones repeated across chunks kept once", async () => {
      const f = { mode: "FILTER_MODE_EXCLUDE", eventType: "webinar_attended", withinMinutes: 120 };
      const res = await stream().filterStream({ organizationId: String(org.id), filter: f, asOf: AS_OF, phones: AUDIENCE.slice(0, 3) }, [AUDIENCE.slice(3), ["nope", "+14155550102"], [], AUDIENCE], org.apiKey);
      expect(res.ok, JSON.stringify(res)).toBe(true);
      const unary = await filter(org, f, [...AUDIENCE, "nope", "+14155550102", ...AUDIENCE]);
      if (res.ok && unary.ok) {
        expect(res.body.keptPhones).toEqual(unary.body.keptPhones);
        expect(res.body).toMatchObject({ audienceCount: 16, keptCount: 4, unparseablePhones: ["nope"] });
      }
    });

    it("filters 1,000,000 phones streamed in 20 messages", async () => {
      // 1,000,000 distinct +1 646 numbers; every 1,000th had the event.
      const phoneAt = (i: number) => `+16465${String(i).padStart(6, "0")}`;
      const withEvent = Array.from({ length: 1000 }, (_, k) => ({ phoneE164: phoneAt(k * 1000), occurredAt: "2026-11-30T19:00:00Z" }));
      await send(org, "big_stream", withEvent);
      function* chunks() {
        for (let m = 1; m < 20; m++) yield Array.from({ length: 50_000 }, (_, j) => phoneAt(m * 50_000 + j));
      }
      const first = Array.from({ length: 50_000 }, (_, j) => phoneAt(j));
      const res = await stream().filterStream({ organizationId: String(org.id), filter: { mode: "FILTER_MODE_INCLUDE", eventType: "big_stream" }, asOf: AS_OF, phones: first }, chunks(), org.apiKey);
      expect(res.ok, JSON.stringify(res).slice(0, 300)).toBe(true);
      if (res.ok) {
        expect(res.body.audienceCount).toBe(1_000_000);
        expect(res.body.keptCount).toBe(1000);
        expect(res.body.keptPhones).toEqual(withEvent.map((e) => e.phoneE164).sort());
      }
    }, 120_000);

    it("gives the unary answer for 100,000 entries sent as 2,500 small messages (merged into fuller queries)", async () => {
      // 60,000 distinct +1 718 numbers and 40,000 repeats of them, plus the seeded phones and a few non-phones.
      const distinct = Array.from({ length: 60_000 }, (_, i) => `+1718${2_000_000 + i}`);
      const audience = [...AUDIENCE, "nope", ...distinct, ...Array.from({ length: 40_000 - AUDIENCE.length - 2 }, (_, i) => distinct[(i * 7919) % distinct.length]!), "(415) 555-0105"];
      const f = { mode: "FILTER_MODE_EXCLUDE", eventType: "webinar_attended", withinMinutes: 120 };
      const messages: string[][] = [];
      for (let i = 40; i < audience.length; i += 40) messages.push(audience.slice(i, i + 40));
      const res = await stream().filterStream({ organizationId: String(org.id), filter: f, asOf: AS_OF, phones: audience.slice(0, 40) }, messages, org.apiKey);
      const unary = await filter(org, f, audience);
      expect(res.ok && unary.ok, JSON.stringify(res).slice(0, 300)).toBe(true);
      if (res.ok && unary.ok) {
        expect(res.body.keptPhones).toEqual(unary.body.keptPhones);
        expect(res.body).toMatchObject({ audienceCount: 100_000, keptCount: unary.body.keptCount, unparseablePhones: ["nope"] });
      }
    }, 60_000);

    it("lists at most 10,000 unparseable entries but counts every entry", async () => {
      const bad = Array.from({ length: 12_000 }, (_, i) => `bad-${i}`);
      const res = await stream().filterStream({ organizationId: String(org.id), filter: { mode: "FILTER_MODE_INCLUDE", eventType: "webinar_attended" }, asOf: AS_OF, phones: bad.slice(0, 6_000) }, [bad.slice(6_000), ["+14155550101"]], org.apiKey);
      expect(res.ok).toBe(true);
      if (res.ok) {
        expect(res.body.unparseablePhones).toHaveLength(10_000);
        expect(res.body.unparseablePhones[9_999]).toBe("bad-9999");
        expect(res.body.audienceCount).toBe(12_001);
        expect(res.body.keptPhones).toEqual(["+14155550101"]);
      }
    });

    it("refuses a stream without a filter in its first message, and checks scope and organization", async () => {
      const none = await stream().filterStream({ organizationId: String(org.id), phones: ["+14155550101"] }, [], org.apiKey);
      expect(none.ok ? "ok" : none.code).toBe("invalid_argument");
      const readless = await server.createKey(org.id, ["ingest"]);
      const f = { mode: "FILTER_MODE_INCLUDE", eventType: "webinar_attended" };
      const noScope = await stream().filterStream({ organizationId: String(org.id), filter: f, phones: [] }, [], readless);
      expect(noScope.ok ? "ok" : noScope.code).toBe("permission_denied");
      const other = await server.createOrg();
      const cross = await stream().filterStream({ organizationId: String(org.id), filter: f, phones: [] }, [], other.apiKey);
      expect(cross.ok ? "ok" : cross.code).toBe("permission_denied");
    });
  });
});
