// Calls without a valid API key are refused before their body is read, on every protocol
// connect-node serves (it decodes a whole request, up to 10 MB, before any handler runs), and
// real clients read the refusal as the Unauthenticated error the handler itself would give.
import http from "node:http";
import http2 from "node:http2";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FilterAudienceStreamRequestSchema, LeadEventService } from "../../gen/leadevents/v1/lead_event_service_pb.js";
import { WebhookSettingsService } from "../../gen/leadevents/v1/webhook_settings_service_pb.js";
import { startTestServer, type TestOrg, type TestServer } from "../support/test-server.js";

const MISSING = "missing credentials: send Authorization: Bearer <api key>";

describe("RPCs without a valid API key", () => {
  let server: TestServer;
  let org: TestOrg;
  beforeAll(async () => {
    server = await startTestServer();
    org = await server.createOrg();
  });
  afterAll(() => server?.close());

  const transports = (): Record<string, (headers?: Record<string, string>) => Transport> => {
    const baseUrl = server.baseUrl;
    const withHeaders = (headers: Record<string, string> = {}) => [
      (next: any) => async (req: any) => {
        for (const [k, v] of Object.entries(headers)) req.header.set(k, v);
        return next(req);
      },
    ];
    return {
      "Connect JSON, HTTP/1.1": (h) => createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors: withHeaders(h) }),
      "Connect binary, HTTP/2": (h) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true, interceptors: withHeaders(h) }),
      gRPC: (h) => createGrpcTransport({ baseUrl, interceptors: withHeaders(h) }),
      "gRPC, JSON codec": (h) => createGrpcTransport({ baseUrl, useBinaryFormat: false, interceptors: withHeaders(h) }),
      "gRPC-web, HTTP/1.1": (h) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors: withHeaders(h) }),
      "gRPC-web JSON, HTTP/2": (h) => createGrpcWebTransport({ baseUrl, httpVersion: "2", useBinaryFormat: false, interceptors: withHeaders(h) }),
    };
  };
  const refusal = (p: Promise<unknown>) => p.then(() => "answered", (e) => ConnectError.from(e));

  it("are refused as unauthenticated on every protocol, unary and streaming, and a valid key still works", async () => {
    for (const [name, transport] of Object.entries(transports())) {
      const events = createClient(LeadEventService, transport());
      const settings = createClient(WebhookSettingsService, transport());
      for (const [rpc, call] of [
        ["ListEventTypes", () => events.listEventTypes({})],
        ["SendLeadEvents", () => events.sendLeadEvents({ events: [{ phoneE164: "+14155550100", occurredAt: "2026-11-30T18:34:00Z" }], eventType: "x" })],
        ["GetWebhookSettings", () => settings.getWebhookSettings({})],
      ] as const) {
        const err = await refusal(call());
        expect({ name, rpc, code: (err as ConnectError).code, message: (err as ConnectError).rawMessage }).toEqual({ name, rpc, code: Code.Unauthenticated, message: MISSING });
      }
      const malformed = await refusal(createClient(LeadEventService, transport({ authorization: "Bearer nope" })).listEventTypes({}));
      expect({ name, code: (malformed as ConnectError).code }).toEqual({ name, code: Code.Unauthenticated });
      const ok = await createClient(LeadEventService, transport({ authorization: `Bearer ${org.apiKey}` })).listEventTypes({});
      expect(ok.eventTypes).toEqual([]);
    }
    // Client streaming (needs HTTP/2 over Connect).
    for (const name of ["Connect binary, HTTP/2", "gRPC", "gRPC-web JSON, HTTP/2"]) {
      const events = createClient(LeadEventService, transports()[name]!());
      async function* requests() {
        yield create(FilterAudienceStreamRequestSchema, { phones: ["+14155550100"] });
      }
      const err = await refusal(events.filterAudienceStream(requests()));
      expect({ name, code: (err as ConnectError).code, message: (err as ConnectError).rawMessage }).toEqual({ name, code: Code.Unauthenticated, message: MISSING });
    }
  });

  it("refuse a signature where connect-node would decode the message before it could be checked", async () => {
    for (const name of ["gRPC, JSON codec", "gRPC-web, HTTP/1.1", "gRPC-web JSON, HTTP/2"]) {
      const events = createClient(LeadEventService, transports()[name]!({ "x-setter-signature": "sha256=" + "0".repeat(64), authorization: `Bearer ${org.apiKey}` }));
      const err = await refusal(events.sendLeadEvents({ events: [{ phoneE164: "+14155550100", occurredAt: "2026-11-30T18:34:00Z" }], eventType: "x" }));
      expect({ name, code: (err as ConnectError).code, message: (err as ConnectError).rawMessage }).toEqual({
        name,
        code: Code.Unauthenticated,
        message: "X-Setter-Signature is accepted over REST, Connect (JSON or binary) and gRPC with protobuf messages; over this protocol send Authorization: Bearer <api key>",
      });
    }
  });

  it("are refused before their body is parsed: malformed bytes get unauthenticated, and the connection carries on", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const post = (path: string, contentType: string, body: Buffer, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; body: string; trailers: NodeJS.Dict<string> }>((resolve, reject) => {
        const req = http.request(`${server.baseUrl}${path}`, { method: "POST", agent, headers: { "content-type": contentType, "content-length": String(body.length), ...headers } }, (res) => {
          let text = "";
          res.on("data", (c) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode!, body: text, trailers: res.trailers }));
        });
        req.on("error", reject);
        req.end(body);
      });
    // Invalid JSON and invalid protobuf, 2 MB each: parsed, they would be invalid_argument.
    for (const [contentType, body] of [["application/json", Buffer.alloc(2 << 20, "{")], ["application/proto", Buffer.alloc(2 << 20, 0xff)]] as const) {
      const answer = await post("/leadevents.v1.LeadEventService/FilterAudience", contentType, body);
      expect({ contentType, status: answer.status, body: JSON.parse(answer.body) }).toEqual({ contentType, status: 401, body: { code: "unauthenticated", message: MISSING } });
    }
    // gRPC over HTTP/1.1 (connect-node serves it too): the status in trailers.
    const framed = Buffer.concat([Buffer.from([0, 0, 0x20, 0, 0]), Buffer.alloc(2 << 20, 0xff)]);
    const grpcH1 = await post("/leadevents.v1.LeadEventService/QueryLeadEvents", "application/grpc", framed, { te: "trailers" });
    expect({ status: grpcH1.status, grpcStatus: grpcH1.trailers["grpc-status"], message: decodeURIComponent(grpcH1.trailers["grpc-message"] ?? "") }).toEqual({ status: 200, grpcStatus: String(Code.Unauthenticated), message: MISSING });
    // What connect-node refuses from the headers alone keeps its own answer: an unknown method,
    // a content type of the other kind of method.
    expect((await post("/leadevents.v1.LeadEventService/Nope", "application/json", Buffer.from("{}"))).status).toBe(404);
    expect((await post("/leadevents.v1.LeadEventService/ListEventTypes", "application/connect+json", Buffer.from("{}"))).status).toBe(415);
    // The same keep-alive connection, now with a key.
    const ok = await post("/leadevents.v1.LeadEventService/ListEventTypes", "application/json", Buffer.from("{}"), { authorization: `Bearer ${org.apiKey}` });
    expect(ok.status).toBe(200);
    agent.destroy();
  });

  it("answer a bidi stream at once, before its client has sent everything, and client streams too", async () => {
    // A bidi client may wait for an answer before it sends on: one message out, the stream left open.
    const session = http2.connect(server.baseUrl);
    try {
      const answer = await new Promise<{ status: number; trailers: Record<string, unknown> }>((resolve, reject) => {
        const stream = session.request({ ":method": "POST", ":path": "/leadevents.v1.LeadEventService/FilterAudienceChunked", "content-type": "application/grpc", te: "trailers" });
        let status = 0;
        stream.on("response", (h) => (status = Number(h[":status"])));
        stream.on("trailers", (t) => resolve({ status, trailers: t }));
        stream.on("error", reject);
        stream.resume();
        stream.write(Buffer.from([0, 0, 0, 0, 3, 1, 2, 3]));
      });
      expect({ status: answer.status, grpcStatus: answer.trailers["grpc-status"] }).toEqual({ status: 200, grpcStatus: String(Code.Unauthenticated) });
    } finally {
      session.destroy(); // its request never ends
    }
    // A client stream whose first message is far past a flow-control window gets its answer too.
    const phones = Array.from({ length: 30_000 }, (_, i) => `+1415${String(2_000_000 + i)}`);
    for (const name of ["Connect binary, HTTP/2", "gRPC"]) {
      const events = createClient(LeadEventService, transports()[name]!());
      async function* requests() {
        yield create(FilterAudienceStreamRequestSchema, { phones });
        yield create(FilterAudienceStreamRequestSchema, { phones });
      }
      const err = await refusal(events.filterAudienceStream(requests()));
      expect({ name, code: (err as ConnectError).code }).toEqual({ name, code: Code.Unauthenticated });
    }
  });

  it("leave a shared HTTP/2 client connection usable after many refused calls with large bodies", async () => {
    // Node's HTTP/2 client counts unsent request bytes against its session memory (10 MB by
    // default): refusals that left bodies unread wedged the connection for everyone on it.
    for (const name of ["Connect binary, HTTP/2", "gRPC", "gRPC-web JSON, HTTP/2"]) {
      const transport = transports()[name]!();
      const phones = Array.from({ length: 100_000 }, (_, i) => `+1415${String(2_000_000 + i)}`); // ~1.5 MB
      const anonymous = createClient(LeadEventService, transport);
      for (let round = 0; round < 12; round++) {
        const err = await refusal(anonymous.filterAudience({ phones, filter: { mode: 1, eventType: "x" } }));
        expect({ name, round, code: (err as ConnectError).code }).toEqual({ name, round, code: Code.Unauthenticated });
      }
      const keyed = createClient(LeadEventService, transports()[name]!({ authorization: `Bearer ${org.apiKey}` }));
      expect((await keyed.listEventTypes({})).eventTypes).toEqual([]);
    }
  });

  it("leave health checking and reflection open, with a cap of their own on request messages", async () => {
    const check = (body: Uint8Array | string, contentType = "application/json") =>
      fetch(`${server.baseUrl}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": contentType }, body });
    const ok = await check("{}");
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: "SERVING" });
    // 1 MB of unknown empty groups: protobuf-es would decode them all; refused by size instead.
    const big = await check(Buffer.alloc(1 << 20, Buffer.from([0x13, 0x14])), "application/proto");
    expect(big.status).toBe(429);
    expect(((await big.json()) as { code: string }).code).toBe("resource_exhausted");
  });
});
