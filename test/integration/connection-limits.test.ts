// Connection-level behaviour: oversized messages are refused without hurting the connection's
// other calls, and a refused half-read HTTP/1.1 request does not wedge its keep-alive socket.
import http from "node:http";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeadEventService } from "../../gen/leadevents/v1/lead_event_service_pb.js";
import { startTestServer, type TestServer, type TestOrg } from "../support/test-server.js";

describe("connection limits", () => {
  let server: TestServer;
  let org: TestOrg;
  beforeAll(async () => {
    server = await startTestServer();
    org = await server.createOrg();
  });
  afterAll(() => server?.close());

  it("refuses a gRPC message over 10 MiB with RESOURCE_EXHAUSTED and keeps the HTTP/2 connection usable", async () => {
    const client = createClient(LeadEventService, createGrpcTransport({ baseUrl: server.baseUrl, writeMaxBytes: 64 * 1024 * 1024, nodeOptions: { maxSessionMemory: 64 } }));
    const headers = { authorization: `Bearer ${org.apiKey}` };
    const pad = "x".repeat(8000);
    const big = { organizationId: BigInt(org.id), eventType: "big", events: Array.from({ length: 1400 }, (_, i) => ({ phoneE164: `+1201555${String(i).padStart(4, "0")}`, occurredAt: "2026-11-30T18:34:00Z", eventType: pad })) };
    const [err, small] = await Promise.all([
      client.sendLeadEvents(big, { headers }).then(() => undefined, (e) => ConnectError.from(e)),
      client.queryLeadEvents({ organizationId: BigInt(org.id) }, { headers }),
    ]);
    expect(err?.code).toBe(Code.ResourceExhausted);
    expect(small.events).toEqual([]);
    const after = await client.queryLeadEvents({ organizationId: BigInt(org.id) }, { headers });
    expect(after.events).toEqual([]);
  });

  it("closes a keep-alive HTTP/1.1 connection whose oversized body was refused, so the next request gets a fresh one", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${server.baseUrl}/leadevents.v1.LeadEventService/QueryLeadEvents`, {
        method: "POST", agent, headers: { "content-type": "application/proto", authorization: `Bearer ${org.apiKey}` },
      }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode!));
      });
      req.on("error", reject);
      const chunk = Buffer.alloc(1024 * 1024, 0x41);
      let sent = 0;
      const pump = () => {
        while (sent < 11) {
          sent++;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        req.end();
      };
      pump();
    }).catch(() => -1);
    expect([429, 413, -1]).toContain(first);
    const second = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${server.baseUrl}/healthz`, { agent, timeout: 5000 }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on("timeout", () => req.destroy(new Error("second request hung")));
      req.on("error", reject);
      req.end();
    });
    expect(second).toBe(200);
    agent.destroy();
  });
});
