// An independent gRPC implementation (@grpc/grpc-js + @grpc/proto-loader, from the .proto
// files alone) against the same port the REST route and Connect use.
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer, type TestOrg } from "../support/test-server.js";
import { PROJECT_ROOT } from "../support/shared.js";

function loadService(): any {
  const def = protoLoader.loadSync("leadevents/v1/lead_event_service.proto", {
    includeDirs: [path.join(PROJECT_ROOT, "proto")],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return (grpc.loadPackageDefinition(def) as any).leadevents.v1.LeadEventService;
}

describe("gRPC with @grpc/grpc-js", () => {
  let server: TestServer;
  let org: TestOrg;
  let client: any;
  beforeAll(async () => {
    server = await startTestServer();
    org = await server.createOrg({ defaultRegion: "US" });
    const Service = loadService();
    client = new Service(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
  });

  const call = (method: string, req: unknown, key = org.apiKey) =>
    new Promise<{ err: grpc.ServiceError | null; res: any }>((resolve) => {
      const md = new grpc.Metadata();
      md.set("authorization", `Bearer ${key}`);
      client[method](req, md, (err: grpc.ServiceError | null, res: any) => resolve({ err, res }));
    });

  it("sends events, with per-row rejects and Value metadata, and reads them back", async () => {
    const { err, res } = await call("SendLeadEvents", {
      organizationId: String(org.id),
      eventType: "grpc_js",
      events: [
        { phoneE164: "(415) 555-0132", occurredAt: "2026-11-30T18:34:00.5Z", metadata: { structValue: { fields: { plan: { stringValue: "pro" } } } } },
        { phoneE164: "nope", occurredAt: "2026-11-30T18:34:00Z" },
      ],
    });
    expect(err).toBeNull();
    expect(res).toMatchObject({ status: "accepted", received: 2, inserted: 1, duplicates: 0, rejected: 1 });
    expect(res.rejects[0]).toMatchObject({ index: 1, phoneE164: "nope", code: "REJECT_CODE_INVALID_PHONE", reason: "invalid phoneE164" });

    const q = await call("QueryLeadEvents", { organizationId: String(org.id), eventType: "grpc_js" });
    expect(q.err).toBeNull();
    expect(q.res.events).toHaveLength(1);
    expect(q.res.events[0]).toMatchObject({ phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:00.5Z" });
    expect(q.res.events[0].metadata.structValue.fields.plan.stringValue).toBe("pro");
  });

  it("maps refusals to gRPC status codes", async () => {
    const unauth = await call("SendLeadEvents", { organizationId: String(org.id), eventType: "x", events: [{ phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:00Z" }] }, "lek_wrong");
    expect(unauth.err?.code).toBe(grpc.status.UNAUTHENTICATED);
    const badType = await call("SendLeadEvents", { organizationId: String(org.id), eventType: "x".repeat(129), events: [{ phoneE164: "+14155550132", occurredAt: "2026-11-30T18:34:00Z" }] });
    expect(badType.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    const other = await server.createOrg();
    const denied = await call("QueryLeadEvents", { organizationId: String(other.id) });
    expect(denied.err?.code).toBe(grpc.status.PERMISSION_DENIED);
  });
});
