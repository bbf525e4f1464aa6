// The generated TypeScript client over every protocol the one port speaks: Connect JSON and
// binary on HTTP/1.1 and HTTP/2, gRPC-web, and gRPC.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeadEventService, RejectCode, SendLeadEventsRequestSchema } from "../../gen/leadevents/v1/lead_event_service_pb.js";
import { startTestServer, type TestServer, type TestOrg } from "../support/test-server.js";

describe("generated client", () => {
  let server: TestServer;
  let org: TestOrg;
  beforeAll(async () => {
    server = await startTestServer();
    org = await server.createOrg();
  });
  afterAll(() => server?.close());

  const transports: Record<string, (baseUrl: string) => Transport> = {
    "Connect JSON, HTTP/1.1": (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" }),
    "Connect binary, HTTP/1.1": (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
    "Connect JSON, HTTP/2": (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2" }),
    "Connect binary, HTTP/2": (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
    "gRPC-web, HTTP/1.1": (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
    gRPC: (baseUrl) => createGrpcTransport({ baseUrl }),
  };

  for (const [name, make] of Object.entries(transports)) {
    it(`sends, dedupes and reports rejects over ${name}`, async () => {
      const client = createClient(LeadEventService, make(server.baseUrl));
      const headers = { authorization: `Bearer ${org.apiKey}` };
      const type = `via ${name}`;
      const req = create(SendLeadEventsRequestSchema, {
        organizationId: BigInt(org.id),
        eventType: type,
        events: [
          { phoneE164: "+14155550100", occurredAt: "2026-11-30T18:34:00.123456Z" },
          { phoneE164: "+14155550100", occurredAt: "2026-11-30T13:34:00.123456-05:00" },
          { phoneE164: "+14155550101", occurredAt: "not a time" },
          { phoneE164: "+14155550102", occurredAt: "2026-11-30T18:34:00Z", metadataJson: '{"plan":"pro"}' },
        ],
      });
      const res = await client.sendLeadEvents(req, { headers });
      expect(res).toMatchObject({ status: "accepted", received: 4, inserted: 2, duplicates: 1, rejected: 1 });
      expect(res.rejects[0]?.code).toBe(RejectCode.INVALID_OCCURRED_AT);
      const page = await client.queryLeadEvents({ organizationId: BigInt(org.id), eventType: type }, { headers });
      expect(page.events.map((e) => e.occurredAt)).toEqual(["2026-11-30T18:34:00.123456Z", "2026-11-30T18:34:00Z"]);
      expect(page.events[1]?.metadata?.kind).toMatchObject({ case: "structValue" });
      const err = await client.sendLeadEvents({ ...req, organizationId: BigInt(org.id + 1000) }, { headers }).catch((e) => ConnectError.from(e));
      expect((err as ConnectError).code).toBe(Code.PermissionDenied);
    });
  }
});
