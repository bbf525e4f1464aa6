// The real-world scenario in ../shared/fixtures: a partner posts the webinar and payments
// batches; the responses must equal EXPECTED.json exactly, and re-posting inserts nothing.
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HAS_SHARED, readSharedJson, sharedPath } from "../support/shared.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { connectJsonClient, grpcClient, restClient, type LeadEventsClient } from "../support/clients.js";
import { expectSendResponse } from "../support/expect-send.js";
import { csvColumn } from "../support/csv.js";
import { grpcReadClient } from "../support/read-clients.js";

const BATCHES = ["webinar_attended.batch.json", "mastery_purchase.batch.json"] as const;

describe.skipIf(!HAS_SHARED)("fixtures scenario from ../shared/fixtures", () => {
  let server: TestServer;
  const expected = HAS_SHARED ? readSharedJson("fixtures", "EXPECTED.json") : undefined;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const bodyFor = (file: string, orgId: number) => fs.readFileSync(sharedPath("fixtures", file), "utf8").replaceAll("{{org}}", String(orgId));

  for (const transport of ["rest", "connect-json", "grpc"] as const) {
    it(`posting both batches over ${transport} gives EXPECTED.json, and re-posting inserts nothing`, async () => {
      const client: LeadEventsClient = { rest: restClient, "connect-json": connectJsonClient, grpc: grpcClient }[transport](server.baseUrl);
      const org = await server.createOrg({ defaultRegion: expected.defaultRegion });
      for (const file of BATCHES) {
        const body = bodyFor(file, org.id);
        const res = await client.send(transport === "grpc" ? JSON.parse(body) : body, org.apiKey);
        expect(res.ok, JSON.stringify(res).slice(0, 300)).toBe(true);
        if (res.ok) expectSendResponse(res.body, expected.batches[file]);
      }
      for (const file of BATCHES) {
        const res = await client.send(transport === "grpc" ? JSON.parse(bodyFor(file, org.id)) : bodyFor(file, org.id), org.apiKey);
        expect(res.ok).toBe(true);
        if (res.ok) {
          const want = expected.batches[file];
          expect(res.body.inserted).toBe(0);
          expect(res.body.duplicates).toBe(want.received - want.rejected);
          expect(res.body.rejected).toBe(want.rejected);
        }
      }
    });
  }

  it("gives the three campaign filters of EXPECTED.json over audience.csv's phone column, unary and streamed", async () => {
    const client = connectJsonClient(server.baseUrl);
    const org = await server.createOrg({ defaultRegion: expected.defaultRegion });
    for (const file of BATCHES) {
      const res = await client.send(bodyFor(file, org.id), org.apiKey);
      expect(res.ok, JSON.stringify(res).slice(0, 300)).toBe(true);
    }
    const audience = csvColumn(fs.readFileSync(sharedPath("fixtures", "audience.csv"), "utf8"), "phone");
    expect(audience).toHaveLength(20_000);
    const request = (f: any) => ({ organizationId: String(org.id), filter: { ...f.filter, mode: `FILTER_MODE_${f.filter.mode}` }, asOf: f.asOf });

    for (const f of expected.filters as any[]) {
      const label = `${f.filter.mode} ${f.filter.eventType}${f.filter.withinMinutes !== undefined ? ` within ${f.filter.withinMinutes}` : ""} at ${f.asOf}`;
      const res = await client.filter({ ...request(f), phones: audience }, org.apiKey);
      expect(res.ok, `${label}: ${JSON.stringify(res).slice(0, 300)}`).toBe(true);
      if (!res.ok) continue;
      expect(res.body.audienceCount, label).toBe(f.audience);
      expect(res.body.unparseablePhones, label).toHaveLength(f.unparseable);
      expect(res.body.keptCount, label).toBe(f.keptCount);
      expect(res.body.keptPhones, label).toHaveLength(f.keptCount);
      expect(res.body.keptPhones.slice(0, 10), label).toEqual(f.keptFirst10);
    }

    // The first filter again, streamed in chunks of 3,000 over gRPC: the same answer.
    const f = expected.filters[0];
    const chunks: string[][] = [];
    for (let i = 0; i < audience.length; i += 3_000) chunks.push(audience.slice(i, i + 3_000));
    const [head, ...rest] = chunks;
    const streamed = await grpcReadClient(server.baseUrl).filterStream({ ...request(f), phones: head! }, rest, org.apiKey);
    expect(streamed.ok, JSON.stringify(streamed).slice(0, 300)).toBe(true);
    if (streamed.ok) {
      expect(streamed.body.audienceCount).toBe(f.audience);
      expect(streamed.body.unparseablePhones).toHaveLength(f.unparseable);
      expect(streamed.body.keptCount).toBe(f.keptCount);
      expect(streamed.body.keptPhones.slice(0, 10)).toEqual(f.keptFirst10);
    }
  });
});
