// ListEventTypes: the organization's types with counts and first and last occurredAt.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { connectJsonClient } from "../support/clients.js";
import { connectJsonReadClient, grpcReadClient } from "../support/read-clients.js";

describe("ListEventTypes", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it("lists each type once, sorted, with event count, distinct phones and exact first and last occurredAt, over Connect JSON and gRPC", async () => {
    const org = await server.createOrg({ defaultRegion: "US" });
    const other = await server.createOrg();
    const json = connectJsonClient(server.baseUrl);
    const res = await json.send({
      organizationId: String(org.id),
      eventType: "webinar_attended",
      events: [
        { phoneE164: "+14155550101", occurredAt: "2026-11-30T18:00:00.000001Z" },
        { phoneE164: "+14155550101", occurredAt: "2026-11-30T19:00:00Z" },
        { phoneE164: "+14155550102", occurredAt: "2026-11-30T20:30:00.25Z" },
        { phoneE164: "+14155550102", occurredAt: "2026-11-30T15:30:00-05:00", eventType: "mastery_purchase" },
        { phoneE164: "+14155550103", occurredAt: "2026-11-29T00:00:00Z", eventType: "Webinar_Attended" },
      ],
    }, org.apiKey);
    expect(res.ok && res.body.inserted).toBe(5);
    await json.send({ organizationId: String(other.id), eventType: "other_org_type", events: [{ phoneE164: "+14155550101", occurredAt: "2026-11-30T18:00:00Z" }] }, other.apiKey);

    const expected = {
      eventTypes: [
        { eventType: "Webinar_Attended", eventCount: 1, distinctPhones: 1, firstOccurredAt: "2026-11-29T00:00:00Z", lastOccurredAt: "2026-11-29T00:00:00Z" },
        { eventType: "mastery_purchase", eventCount: 1, distinctPhones: 1, firstOccurredAt: "2026-11-30T20:30:00Z", lastOccurredAt: "2026-11-30T20:30:00Z" },
        { eventType: "webinar_attended", eventCount: 3, distinctPhones: 2, firstOccurredAt: "2026-11-30T18:00:00.000001Z", lastOccurredAt: "2026-11-30T20:30:00.25Z" },
      ],
    };
    const viaJson = await connectJsonReadClient(server.baseUrl).listEventTypes({ organizationId: String(org.id) }, org.apiKey);
    expect(viaJson.ok && viaJson.body).toEqual(expected);
    const viaGrpc = await grpcReadClient(server.baseUrl).listEventTypes({ organizationId: String(org.id) }, org.apiKey);
    expect(viaGrpc.ok && viaGrpc.body).toEqual(expected);
  });

  it("answers an empty list for an organization without events, defaulting to the caller's organization", async () => {
    const org = await server.createOrg();
    const res = await connectJsonReadClient(server.baseUrl).listEventTypes({}, org.apiKey);
    expect(res.ok && res.body).toEqual({ eventTypes: [] });
  });

  it("needs the read scope and the caller's own organization", async () => {
    const org = await server.createOrg();
    const ingestOnly = await server.createKey(org.id, ["ingest"]);
    const noScope = await connectJsonReadClient(server.baseUrl).listEventTypes({ organizationId: String(org.id) }, ingestOnly);
    expect(noScope.ok ? "ok" : noScope.code).toBe("permission_denied");
    const other = await server.createOrg();
    const cross = await grpcReadClient(server.baseUrl).listEventTypes({ organizationId: String(org.id) }, other.apiKey);
    expect(cross.ok ? "ok" : cross.code).toBe("permission_denied");
  });
});
