// SendLeadEvents with validate_only: the same counts and rejects a real send would give
// (duplicates against stored rows included), and nothing stored.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestServer, type TestServer } from "../support/test-server.js";
import { connectJsonClient, grpcClient, queryAll, restClient, type LeadEventsClient } from "../support/clients.js";
import { connectJsonReadClient } from "../support/read-clients.js";

describe("SendLeadEvents with validate_only", () => {
  let server: TestServer;
  let json: LeadEventsClient;
  beforeAll(async () => {
    server = await startTestServer();
    json = connectJsonClient(server.baseUrl);
  });
  afterAll(() => server?.close());

  const events = (n: number, base = 2015550000) =>
    Array.from({ length: n }, (_, i) => ({ phoneE164: `+1${base + (i % 400)}`, occurredAt: `2026-11-30T18:00:${String(i % 60).padStart(2, "0")}Z` }));

  const batch = (orgId: number) => ({
    organizationId: String(orgId),
    eventType: "webinar_attended",
    events: [...events(1_000), { phoneE164: "nope", occurredAt: "2026-11-30T18:00:00Z" }, { phoneE164: "+12015550001", occurredAt: "2026-02-30T18:00:00Z" }, ...events(10)],
  });

  for (const transport of ["rest", "connect-json", "grpc"] as const) {
    it(`over ${transport}: reports what a real send then does, and stores nothing`, async () => {
      const client = { rest: restClient, "connect-json": connectJsonClient, grpc: grpcClient }[transport](server.baseUrl);
      const org = await server.createOrg({ defaultRegion: "US" });
      // A quarter of the rows are stored already.
      const first = await json.send({ ...batch(org.id), events: events(250) }, org.apiKey);
      expect(first.ok && first.body.inserted).toBe(250);

      const body = batch(org.id);
      const dry = transport === "rest"
        ? await postJson(`${server.baseUrl}/api/v1/webhooks/lead-events?validateOnly=true`, body, { authorization: `Bearer ${org.apiKey}` }).then((r) => (r.status === 200 ? { ok: true as const, body: r.body } : { ok: false as const, code: String(r.status), http: r.status, message: JSON.stringify(r.body) }))
        : await client.send({ ...body, validateOnly: true }, org.apiKey);
      expect(dry.ok, JSON.stringify(dry).slice(0, 300)).toBe(true);
      if (!dry.ok) return;
      expect(dry.body).toMatchObject({ status: "accepted", received: 1012, inserted: 750, duplicates: 260, rejected: 2 });
      expect(dry.body.rejects.map((r: any) => r.index)).toEqual([1000, 1001]);
      expect(await queryAll(json, org.id, org.apiKey)).toHaveLength(250);

      const real = await client.send(body, org.apiKey);
      expect(real.ok && real.body).toEqual(dry.body);
      expect(await queryAll(json, org.id, org.apiKey)).toHaveLength(1000);

      const dryAgain = await client.send({ ...body, validateOnly: true }, org.apiKey);
      expect(dryAgain.ok && dryAgain.body).toMatchObject({ inserted: 0, duplicates: 1010, rejected: 2 });
    });
  }

  it("reports erased rows as a real send would", async () => {
    const org = await server.createOrg({ defaultRegion: "US" });
    await json.send(batch(org.id), org.apiKey);
    const erased = await connectJsonReadClient(server.baseUrl).deleteLeadEvents({ organizationId: String(org.id), phoneE164: "+12015550000" }, org.apiKey);
    expect(erased.ok && erased.body.deletedCount).toBeGreaterThan(0);
    const dry = await json.send({ ...batch(org.id), validateOnly: true }, org.apiKey);
    const real = await json.send(batch(org.id), org.apiKey);
    expect(dry.ok && real.ok).toBe(true);
    if (dry.ok && real.ok) {
      expect(dry.body).toEqual(real.body);
      expect(dry.body.rejects[0]).toMatchObject({ index: 0, code: "REJECT_CODE_ERASED_PHONE" });
      expect(dry.body.received).toBe(dry.body.inserted + dry.body.duplicates + dry.body.rejected);
    }
  });

  it("still refuses what a send refuses: a wrong organization, a missing scope, too many events", async () => {
    const org = await server.createOrg({ defaultRegion: "US" });
    const other = await server.createOrg();
    const cross = await json.send({ ...batch(org.id), validateOnly: true }, other.apiKey);
    expect(cross.ok ? "ok" : cross.code).toBe("permission_denied");
    const readOnly = await server.createKey(org.id, ["read"]);
    const noScope = await json.send({ ...batch(org.id), validateOnly: true }, readOnly);
    expect(noScope.ok ? "ok" : noScope.code).toBe("permission_denied");
    const many = await json.send({ organizationId: String(org.id), eventType: "x", validateOnly: true, events: events(50_001) }, org.apiKey);
    expect(many.ok ? "ok" : many.code).toBe("resource_exhausted");
  });
});
