import { afterAll, beforeAll, it } from "vitest";
import pg from "pg";
import fs from "node:fs";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { connectJsonClient } from "../support/clients.js";
import { phonesWithEventQuery } from "../../src/db/lead-event-store.js";
import { sharedPath } from "../support/shared.js";
import { csvColumn } from "../support/csv.js";
import { createPhoneNormalizer } from "../../src/domain/phone.js";

let server: TestServer;
beforeAll(async () => { server = await startTestServer(); });
afterAll(() => server?.close());

it("prints plans", async () => {
  const org = await server.createOrg({ defaultRegion: "US" });
  const client = connectJsonClient(server.baseUrl);
  for (const file of ["webinar_attended.batch.json", "mastery_purchase.batch.json"]) {
    const body = fs.readFileSync(sharedPath("fixtures", file), "utf8").replaceAll("{{org}}", String(org.id));
    await client.send(body, org.apiKey);
  }
  const n = createPhoneNormalizer({ defaultRegion: "US", strict: false });
  const phones = [...new Set(csvColumn(fs.readFileSync(sharedPath("fixtures", "audience.csv"), "utf8"), "phone").map(n).filter((p): p is string => !!p))].sort();
  const c = new pg.Client({ connectionString: server.databaseUrl });
  await c.connect();
  const q = phonesWithEventQuery({ organizationId: org.id, phones, eventType: "webinar_attended", window: { from: null, to: 1796155200000000 } });
  const show = async (label: string) => {
    const { rows } = await c.query("explain (analyze, buffers) " + q.text, q.values);
    console.log(label + "\n" + rows.map((r: any) => r["QUERY PLAN"]).join("\n"));
  };
  await show("no stats");
  await c.query("analyze lead_event");
  await show("analyzed");
  await c.end();
});
