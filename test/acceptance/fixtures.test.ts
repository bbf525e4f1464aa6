// The real-world scenario in ../shared/fixtures: a partner posts the webinar and payments
// batches; the responses must equal EXPECTED.json exactly, and re-posting inserts nothing.
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HAS_SHARED, readSharedJson, sharedPath } from "../support/shared.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { connectJsonClient, grpcClient, restClient, type LeadEventsClient } from "../support/clients.js";
import { expectSendResponse } from "../support/expect-send.js";

const BATCHES = ["webinar_attended.batch.json", "mastery_purchase.batch.json"] as const;

/** Filters arrive with issue 3 (FilterAudience); until then they are reported as skipped. */
const FILTERS_PENDING: string | undefined = "issue 3 (FilterAudience)";

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

  it.skipIf(FILTERS_PENDING !== undefined)(`the three campaign filters over audience.csv${FILTERS_PENDING ? ` (pending ${FILTERS_PENDING})` : ""}`, async () => {
    // Filled in with FilterAudience.
  });
});
