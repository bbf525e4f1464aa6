// The protobuf fast path of SendLeadEvents (Connect binary on HTTP/1.1 and HTTP/2, gRPC on
// HTTP/2): answers byte for byte like connect-node (a bare connect-node adapter over the same
// service context answers the same raw requests), with undecodable bytes as INVALID_ARGUMENT,
// real clients (generated Connect and gRPC, @grpc/grpc-js) with compression and signatures, and
// the 10 MiB cap.
import http from "node:http";
import http2 from "node:http2";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { compressionGzip, connectNodeAdapter, createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  LeadEventService,
  SendLeadEventsRequestSchema,
  SendLeadEventsResponseSchema,
} from "../../gen/leadevents/v1/lead_event_service_pb.js";
import { createSigningInterceptor } from "../../src/client/signing-interceptor.js";
import { signPayload } from "../../src/domain/signature.js";
import { routes } from "../../src/rpc/routes.js";
import { MAX_BODY_BYTES } from "../../src/server/body.js";
import { decodeSendRequest } from "../../src/server/send-proto-decoder.js";
import { createListener, type Listener } from "../../src/server/listener.js";
import { enableHmac } from "../support/settings-client.js";
import { PROJECT_ROOT } from "../support/shared.js";
import { startTestServer, type TestOrg, type TestServer } from "../support/test-server.js";

const SEND_PATH = "/leadevents.v1.LeadEventService/SendLeadEvents";

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
  trailers: Record<string, string>;
}

// Headers that differ between any two answers (or between the two servers' listeners).
const VARYING = new Set(["date", "x-request-id", "connection", "keep-alive", "transfer-encoding"]);

function comparable(headers: http.IncomingHttpHeaders | http2.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!k.startsWith(":") && !VARYING.has(k) && v !== undefined) out[k] = String(v);
  return out;
}

function post1(baseUrl: string, body: Uint8Array, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${baseUrl}${SEND_PATH}`, { method: "POST", agent: false, headers: { "content-length": String(body.byteLength), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: comparable(res.headers), body: Buffer.concat(chunks).toString("hex"), trailers: {} }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

function post2(baseUrl: string, body: Uint8Array, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": SEND_PATH, ...headers });
    let status = 0;
    let head: Record<string, string> = {};
    let trailers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      head = comparable(h);
    });
    stream.on("trailers", (t) => void (trailers = comparable(t)));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", reject);
    stream.on("close", () => {
      session.close();
      resolve({ status, headers: head, body: Buffer.concat(chunks).toString("hex"), trailers });
    });
    stream.end(body);
  });
}

const LD = WireType.LengthDelimited;

/** The bytes `fill` writes. */
function bytesOf(fill: (w: BinaryWriter) => void): Uint8Array {
  const w = new BinaryWriter();
  fill(w);
  return w.finish();
}

/** One gRPC length-prefixed message. */
function frame(message: Uint8Array, flags = 0): Buffer {
  const out = Buffer.alloc(5 + message.byteLength);
  out[0] = flags;
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, 5);
  return out;
}

describe("SendLeadEvents protobuf fast path", () => {
  let server: TestServer;
  let org: TestOrg;
  let reference: Listener;
  let referenceUrl: string;

  beforeAll(async () => {
    server = await startTestServer();
    org = await server.createOrg({ defaultRegion: "US" });
    // connect-node alone, configured as app.ts configures it, over the same service context.
    const connect = connectNodeAdapter({ routes: routes(server.ctx), readMaxBytes: MAX_BODY_BYTES, jsonOptions: { alwaysEmitImplicit: true } });
    reference = createListener(connect);
    referenceUrl = `http://127.0.0.1:${await reference.listen(0, "127.0.0.1")}`;
  });
  afterAll(async () => {
    await reference?.close(1000, () => 0);
    await server?.close();
  });

  const auth = () => ({ authorization: `Bearer ${org.apiKey}` });
  /** validate_only, so that sending it to both servers gives the same counts; 60 bad rows make a > 1 KiB answer. */
  const request = (fields: MessageInitShape<typeof SendLeadEventsRequestSchema> = {}) =>
    toBinary(SendLeadEventsRequestSchema, create(SendLeadEventsRequestSchema, {
      organizationId: BigInt(org.id),
      eventType: "parity",
      validateOnly: true,
      events: [
        { phoneE164: "+14155550100", occurredAt: "2026-11-30T18:34:00Z", metadata: { kind: { case: "structValue", value: { fields: { plan: { kind: { case: "stringValue", value: "pro" } } } } } } },
        { phoneE164: "+14155550101", occurredAt: "2026-11-30T18:34:00Z", metadataJson: '{"a":1}' },
        ...Array.from({ length: 60 }, (_, i) => ({ phoneE164: `bad ${i}`, occurredAt: "2026-11-30T18:34:00Z" })),
      ],
      ...fields,
    }));
  /** event_type (field 2) promising 5 bytes and holding 1. */
  const MALFORMED = new Uint8Array([0x12, 0x05, 0x61]);

  async function parity(send: (baseUrl: string) => Promise<Answer>): Promise<Answer> {
    const fast = await send(server.baseUrl);
    const slow = await send(referenceUrl);
    expect(fast).toEqual(slow);
    return fast;
  }

  describe("Connect binary answers exactly as connect-node", () => {
    for (const [version, post] of [["HTTP/1.1", post1], ["HTTP/2", post2]] as const) {
      const connect = (body: Uint8Array, headers: Record<string, string> = {}) => (baseUrl: string) =>
        post(baseUrl, body, { "content-type": "application/proto", "connect-protocol-version": "1", ...auth(), ...headers });

      it(`answers sends, compressed or not, over ${version}`, async () => {
        const plain = await parity(connect(request()));
        expect(plain.status).toBe(200);
        expect(fromBinary(SendLeadEventsResponseSchema, Buffer.from(plain.body, "hex"))).toMatchObject({ received: 62, inserted: 2, rejected: 60 });
        expect((await parity(connect(request(), { "accept-encoding": "gzip, br" }))).headers["content-encoding"]).toBe("gzip");
        expect((await parity(connect(request(), { "accept-encoding": "br" }))).headers["content-encoding"]).toBe("br");
        await parity(connect(gzipSync(request()), { "content-encoding": "gzip" }));
        await parity(connect(request(), { "connect-timeout-ms": "5000" }));
      });

      it(`refuses like connect-node over ${version}`, async () => {
        expect((await parity(connect(request(), { "content-encoding": "zstd" }))).status).toBe(501);
        expect((await parity(connect(request(), { "connect-timeout-ms": "soon" }))).status).toBe(400);
        expect((await parity(connect(Buffer.from("not gzip"), { "content-encoding": "gzip" }))).status).toBe(400);
        expect((await parity(connect(gzipSync(Buffer.alloc(MAX_BODY_BYTES + 1)), { "content-encoding": "gzip" }))).status).toBe(429);
        expect((await parity(connect(request(), { authorization: "Bearer lek_wrong" }))).status).toBe(401);
        expect((await parity(connect(request({ organizationId: BigInt(org.id + 1000) })))).status).toBe(403);
        expect((await parity(connect(request({ organizationId: -1n })))).status).toBe(400);
        expect((await parity(connect(request({ eventType: " padded " })))).status).toBe(400);
        expect((await parity(connect(request({ events: [] })))).status).toBe(400);
      });

      it(`answers undecodable bytes with invalid_argument instead of internal over ${version}`, async () => {
        const fast = await connect(MALFORMED)(server.baseUrl);
        const slow = await connect(MALFORMED)(referenceUrl);
        expect(slow.status).toBe(500);
        expect(fast.status).toBe(400);
        expect(fast.headers["content-type"]).toBe("application/json");
        const error = JSON.parse(Buffer.from(fast.body, "hex").toString());
        expect(error).toEqual({ code: "invalid_argument", message: "the request is not a valid leadevents.v1.SendLeadEventsRequest: unexpected end of data at byte 2" });
      });
    }

    it("refuses a declared body over 10 MiB before reading it", async () => {
      const declared = (baseUrl: string) =>
        new Promise<Answer>((resolve, reject) => {
          const req = http.request(`${baseUrl}${SEND_PATH}`, {
            method: "POST", agent: false,
            headers: { "content-type": "application/proto", "content-length": String(MAX_BODY_BYTES + 1), ...auth() },
          }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
              resolve({ status: res.statusCode!, headers: comparable(res.headers), body: Buffer.concat(chunks).toString(), trailers: {} });
              req.destroy();
            });
          });
          req.on("error", reject);
          req.write(Buffer.alloc(1024));
        });
      const answer = await parity(declared);
      expect(answer.status).toBe(429);
      expect(JSON.parse(answer.body)).toEqual({ code: "resource_exhausted", message: `message size ${MAX_BODY_BYTES + 1} is larger than configured readMaxBytes ${MAX_BODY_BYTES}` });
    });
  });

  describe("gRPC answers exactly as connect-node", () => {
    const grpcPost = (body: Uint8Array, headers: Record<string, string> = {}) => (baseUrl: string) =>
      post2(baseUrl, body, { "content-type": "application/grpc", te: "trailers", ...auth(), ...headers });

    it("answers sends, compressed or not", async () => {
      const plain = await parity(grpcPost(frame(request())));
      expect(plain.trailers).toEqual({ "grpc-status": "0" });
      await parity(grpcPost(frame(request()), { "content-type": "application/grpc+proto" }));
      expect((await parity(grpcPost(frame(request()), { "grpc-accept-encoding": "gzip" }))).headers["grpc-encoding"]).toBe("gzip");
      await parity(grpcPost(frame(gzipSync(request()), 1), { "grpc-encoding": "gzip" }));
      await parity(grpcPost(frame(request()), { "grpc-timeout": "10S" }));
    });

    it("refuses like connect-node, in trailers", async () => {
      const status = async (send: (baseUrl: string) => Promise<Answer>) => (await parity(send)).trailers["grpc-status"];
      expect(await status(grpcPost(frame(request()), { "grpc-encoding": "zstd" }))).toBe(String(Code.Unimplemented));
      expect(await status(grpcPost(frame(request(), 1)))).toBe(String(Code.Internal));
      expect(await status(grpcPost(frame(request()), { "grpc-timeout": "soon" }))).toBe(String(Code.InvalidArgument));
      expect(await status(grpcPost(Buffer.alloc(0)))).toBe(String(Code.Unimplemented));
      expect(await status(grpcPost(Buffer.concat([frame(request()), frame(request())])))).toBe(String(Code.Unimplemented));
      expect(await status(grpcPost(frame(request()).subarray(0, 40)))).toBe(String(Code.InvalidArgument));
      const oversized = Buffer.alloc(5 + 1024);
      oversized.writeUInt32BE(MAX_BODY_BYTES + 1, 1);
      expect(await status(grpcPost(oversized))).toBe(String(Code.ResourceExhausted));
      expect(await status(grpcPost(frame(request()), { authorization: "Bearer lek_wrong" }))).toBe(String(Code.Unauthenticated));
      expect(await status(grpcPost(frame(request({ organizationId: BigInt(org.id + 1000) }))))).toBe(String(Code.PermissionDenied));
      expect(await status(grpcPost(frame(request({ events: [] }))))).toBe(String(Code.InvalidArgument));
    });

    it("answers undecodable bytes with INVALID_ARGUMENT instead of INTERNAL", async () => {
      const fast = await grpcPost(frame(MALFORMED))(server.baseUrl);
      const slow = await grpcPost(frame(MALFORMED))(referenceUrl);
      expect(slow.trailers["grpc-status"]).toBe(String(Code.Internal));
      expect(fast.trailers["grpc-status"]).toBe(String(Code.InvalidArgument));
      expect(decodeURIComponent(fast.trailers["grpc-message"]!)).toMatch(/^the request is not a valid leadevents\.v1\.SendLeadEventsRequest: /);
      const badUtf8 = new BinaryWriter().tag(3, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).bytes(new Uint8Array([0xff])).join().finish();
      const utf8 = await grpcPost(frame(badUtf8))(server.baseUrl);
      expect(decodeURIComponent(utf8.trailers["grpc-message"]!)).toMatch(/not valid UTF-8/);
    });
  });

  describe("with real clients", () => {
    const events = (type: string, n = 3) => ({
      organizationId: BigInt(org.id),
      eventType: type,
      events: Array.from({ length: n }, (_, i) => ({ phoneE164: `+1415555${String(1000 + i)}`, occurredAt: "2026-11-30T18:34:00Z", metadata: { kind: { case: "structValue" as const, value: { fields: { i: { kind: { case: "numberValue" as const, value: i } } } } } } })),
    });
    const transports: Record<string, (baseUrl: string) => Transport> = {
      "Connect binary, HTTP/1.1, gzip": (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true, sendCompression: compressionGzip, compressMinBytes: 0 }),
      "Connect binary, HTTP/2, gzip": (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true, sendCompression: compressionGzip, compressMinBytes: 0 }),
      "gRPC, gzip": (baseUrl) => createGrpcTransport({ baseUrl, sendCompression: compressionGzip, compressMinBytes: 0 }),
    };
    for (const [name, make] of Object.entries(transports)) {
      it(`stores a compressed send and dedupes its repeat over ${name}`, async () => {
        const client = createClient(LeadEventService, make(server.baseUrl));
        const first = await client.sendLeadEvents(events(`compressed ${name}`), { headers: auth() });
        expect(first).toMatchObject({ received: 3, inserted: 3, duplicates: 0 });
        const again = await client.sendLeadEvents(events(`compressed ${name}`), { headers: auth() });
        expect(again).toMatchObject({ received: 3, inserted: 0, duplicates: 3 });
      });
    }

    it("serves @grpc/grpc-js with gzip-compressed messages", async () => {
      const def = protoLoader.loadSync("leadevents/v1/lead_event_service.proto", { includeDirs: [path.join(PROJECT_ROOT, "proto")], longs: String, enums: String, defaults: true, oneofs: true });
      const Service = (grpc.loadPackageDefinition(def) as any).leadevents.v1.LeadEventService;
      const client = new Service(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure(), { "grpc.default_compression_algorithm": 2 });
      try {
        const md = new grpc.Metadata();
        md.set("authorization", `Bearer ${org.apiKey}`);
        const res = await new Promise<any>((resolve, reject) =>
          client.SendLeadEvents({ organizationId: String(org.id), eventType: "grpc_js_gzip", events: [{ phoneE164: "+14155550177", occurredAt: "2026-11-30T18:34:00Z", metadata: { structValue: { fields: { x: { numberValue: 1 } } } } }] }, md, { deadline: Date.now() + 10_000 }, (err: unknown, r: unknown) => (err ? reject(err) : resolve(r))),
        );
        expect(res).toMatchObject({ status: "accepted", received: 1, inserted: 1 });
      } finally {
        client.close();
      }
    });

    it("refuses a Connect binary body over 10 MiB and a wrong key before reading a big body", async () => {
      const big = create(SendLeadEventsRequestSchema, { organizationId: BigInt(org.id), eventType: "big", events: [{ phoneE164: "+14155550100", occurredAt: "2026-11-30T18:34:00Z", metadataJson: "x".repeat(MAX_BODY_BYTES) }] });
      const connect = createClient(LeadEventService, createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", useBinaryFormat: true, writeMaxBytes: 64 * 1024 * 1024 }));
      const tooLarge = await connect.sendLeadEvents(big, { headers: auth() }).catch((e) => ConnectError.from(e));
      expect((tooLarge as ConnectError).code).toBe(Code.ResourceExhausted);
      const grpcClient = createClient(LeadEventService, createGrpcTransport({ baseUrl: server.baseUrl, writeMaxBytes: 64 * 1024 * 1024, nodeOptions: { maxSessionMemory: 64 } }));
      const half = { ...big, events: [{ ...big.events[0]!, metadataJson: "x".repeat(MAX_BODY_BYTES / 2) }] };
      const unknownKey = await grpcClient.sendLeadEvents(half, { headers: { authorization: "Bearer lek_wrong" }, timeoutMs: 20_000 }).catch((e) => ConnectError.from(e));
      expect((unknownKey as ConnectError).code).toBe(Code.Unauthenticated);
      // The connection still serves the next call.
      const ok = await grpcClient.sendLeadEvents(events("after refusals", 1), { headers: auth() });
      expect(ok.inserted).toBe(1);
    });
  });

  describe("HMAC signatures over the message bytes", () => {
    let signed: TestOrg;
    let secret: string;
    beforeAll(async () => {
      signed = await server.createOrg();
      [{ secret }] = (await enableHmac(server.baseUrl, signed.id, signed.apiKey, 1)) as [{ id: string; secret: string }];
    });
    const body = (type: string) => create(SendLeadEventsRequestSchema, { organizationId: BigInt(signed.id), eventType: type, events: [{ phoneE164: "+14155550123", occurredAt: "2026-11-30T18:34:00Z" }] });

    it("accepts requests signed by the client interceptor over gRPC and Connect binary", async () => {
      for (const [name, transport] of [
        ["gRPC", createGrpcTransport({ baseUrl: server.baseUrl, interceptors: [createSigningInterceptor({ secret })] })],
        ["Connect binary", createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", useBinaryFormat: true, interceptors: [createSigningInterceptor({ secret })] })],
      ] as const) {
        const client = createClient(LeadEventService, transport);
        expect(await client.sendLeadEvents(body(`signed ${name}`))).toMatchObject({ inserted: 1 });
      }
      const wrong = createClient(LeadEventService, createGrpcTransport({ baseUrl: server.baseUrl, interceptors: [createSigningInterceptor({ secret: "whsec_wrong" })] }));
      const err = await wrong.sendLeadEvents(body("signed wrong")).catch((e) => ConnectError.from(e));
      expect((err as ConnectError).code).toBe(Code.Unauthenticated);
    });

    it("verifies the bytes as sent, not another encoding of the same message", async () => {
      // An unknown field first: bytes no protobuf-es client would produce for this message.
      const canonical = toBinary(SendLeadEventsRequestSchema, body("signed raw"));
      const unusual = Buffer.concat([new BinaryWriter().tag(99, WireType.Varint).uint32(1).finish(), canonical]);
      const send = (bytes: Uint8Array, signedBytes: Uint8Array) =>
        post2(server.baseUrl, frame(bytes), { "content-type": "application/grpc", te: "trailers", "x-setter-signature": signPayload(secret, signedBytes) });
      expect((await send(unusual, unusual)).trailers["grpc-status"]).toBe("0");
      const canonicalAgain = toBinary(SendLeadEventsRequestSchema, body("signed canonical"));
      const unusualAgain = Buffer.concat([new BinaryWriter().tag(99, WireType.Varint).uint32(1).finish(), canonicalAgain]);
      // Re-encoded by protobuf-es, the unknown field moves to the end: the same message, other
      // bytes, so not what was signed. (Checking such encodings too would let anyone make the
      // server decode and re-encode a message of their choosing before any key is checked.)
      const reencoded = toBinary(SendLeadEventsRequestSchema, fromBinary(SendLeadEventsRequestSchema, unusualAgain));
      expect(Buffer.compare(reencoded, unusualAgain)).not.toBe(0);
      expect((await send(unusualAgain, reencoded)).trailers["grpc-status"]).toBe(String(Code.Unauthenticated));
      const refused = await send(unusual, canonical);
      expect(refused.trailers["grpc-status"]).toBe(String(Code.Unauthenticated));
      expect(decodeURIComponent(refused.trailers["grpc-message"]!)).toMatch(/signature does not match/);
    });

    it("answers a wrong signature with unauthenticated, also for metadata nested past protobuf's limit", async () => {
      // 60 levels of Struct: protobuf-es cannot decode it (its limit is 100 messages), the service
      // rejects the row; with a wrong signature it must still be a plain 401, not an internal error.
      const deep = bytesOf((w) => {
        w.tag(1, WireType.Varint).int64(BigInt(signed.id)).tag(2, LD).string("signed deep");
        w.tag(3, LD).fork().tag(1, LD).string("+14155550124").tag(2, LD).string("2026-11-30T18:34:00Z").tag(3, LD).fork();
        let depth = 0;
        const nest = (): void => {
          if (depth++ === 60) { w.tag(2, WireType.Bit64).double(1); return; }
          w.tag(5, LD).fork().tag(1, LD).fork().tag(1, LD).string("a").tag(2, LD).fork();
          nest();
          w.join().join().join();
        };
        nest();
        w.join().join();
      });
      const wrong = await post2(server.baseUrl, frame(deep), { "content-type": "application/grpc", te: "trailers", "x-setter-signature": signPayload("whsec_wrong", deep) });
      expect(wrong.trailers["grpc-status"]).toBe(String(Code.Unauthenticated));
      const right = await post2(server.baseUrl, frame(deep), { "content-type": "application/grpc", te: "trailers", "x-setter-signature": signPayload(secret, deep) });
      expect(right.trailers["grpc-status"]).toBe("0");
      expect(fromBinary(SendLeadEventsResponseSchema, Buffer.from(right.body, "hex").subarray(5)).rejects[0]?.reason).toMatch(/^invalid metadata: nested deeper than 32 levels/);
    });
  });

  // Messages of 256 KiB and more are decoded chunk by chunk while the previous chunk is written
  // (openLazySendRequest); what the lazy reading cannot decide goes to the whole decoding.
  describe("large messages, decoded as they are written", () => {
    const events = (n: number, first = 0) => Array.from({ length: n }, (_, i) => ({
      phoneE164: `+1415${String(2_000_000 + first + i)}`,
      occurredAt: "2026-11-30T18:34:00.123456Z",
      metadata: { kind: { case: "structValue" as const, value: { fields: { campaign: { kind: { case: "stringValue" as const, value: "spring_webinar_2026_" + "x".repeat(40) } }, n: { kind: { case: "numberValue" as const, value: i } } } } } },
    }));
    const large = (organizationId: number, eventType: string) =>
      toBinary(SendLeadEventsRequestSchema, create(SendLeadEventsRequestSchema, { organizationId: BigInt(organizationId), eventType, events: [...events(4000), { phoneE164: "not a phone", occurredAt: "2026-11-30T18:34:00Z" }] }));
    /** The same message with an event appended that the whole decoding refuses: its phone field runs past the message. */
    const withBrokenTail = (message: Uint8Array) => Buffer.concat([message, Buffer.from([0x1a, 0x03, 0x0a, 0x05, 0x61])]);
    const storedCount = async (organizationId: number, eventType: string) =>
      Number((await server.app.db.withClient((c) => c.query("select count(*)::int as n from lead_event where organization_id = $1 and event_type = $2", [organizationId, eventType]))).rows[0].n);
    const grpcSend = (message: Uint8Array, headers: Record<string, string>) => post2(server.baseUrl, frame(message), { "content-type": "application/grpc", te: "trailers", ...headers });
    const answerOf = (a: Answer) => fromBinary(SendLeadEventsResponseSchema, Buffer.from(a.body, "hex").subarray(5));

    it("stores a large batch over gRPC and Connect binary like any other, and its re-send as duplicates", async () => {
      for (const [name, send] of [
        ["gRPC", (m: Uint8Array) => grpcSend(m, auth())],
        ["Connect binary", (m: Uint8Array) => post1(server.baseUrl, m, { "content-type": "application/proto", ...auth() })],
      ] as const) {
        const message = large(org.id, `large ${name}`);
        expect(message.byteLength).toBeGreaterThan(256 * 1024);
        const decode = (a: Answer) => (name === "gRPC" ? answerOf(a) : fromBinary(SendLeadEventsResponseSchema, Buffer.from(a.body, "hex")));
        const first = decode(await send(message));
        expect(first).toMatchObject({ received: 4001, inserted: 4000, duplicates: 0, rejected: 1 });
        expect(first.rejects[0]).toMatchObject({ index: 4000 });
        expect(decode(await send(message))).toMatchObject({ received: 4001, inserted: 0, duplicates: 4000, rejected: 1 });
        expect(await storedCount(org.id, `large ${name}`)).toBe(4000);
      }
    });

    it("refuses a large message malformed at its end as a whole decoding does, and stores nothing of it", async () => {
      const message = withBrokenTail(large(org.id, "large broken"));
      const viaGrpc = await grpcSend(message, auth());
      expect(viaGrpc.trailers["grpc-status"]).toBe(String(Code.InvalidArgument));
      // Exactly the whole decoding's error (the rows of the chunks already written are rolled back).
      const whole = (() => { try { decodeSendRequest(message); } catch (err) { return (err as Error).message; } })();
      expect(whole).toMatch(/^the request is not a valid leadevents.v1.SendLeadEventsRequest: unexpected end of data at byte \d+$/);
      expect(decodeURIComponent(viaGrpc.trailers["grpc-message"]!)).toBe(whole);
      const viaConnect = await post1(server.baseUrl, message, { "content-type": "application/proto", ...auth() });
      expect(viaConnect.status).toBe(400);
      expect(await storedCount(org.id, "large broken")).toBe(0);
    });

    it("answers two gRPC messages as the whole decoding of the first would, and refuses the second unread", async () => {
      const good = large(org.id, "large two");
      const bad = withBrokenTail(large(org.id, "large two"));
      const whole = (() => { try { decodeSendRequest(bad); } catch (err) { return (err as Error).message; } })();
      const badFirst = await post2(server.baseUrl, Buffer.concat([frame(bad), frame(good)]), { "content-type": "application/grpc", te: "trailers", ...auth() });
      expect(badFirst.trailers["grpc-status"]).toBe(String(Code.InvalidArgument));
      expect(decodeURIComponent(badFirst.trailers["grpc-message"]!)).toBe(whole);
      const badSecond = await post2(server.baseUrl, Buffer.concat([frame(good), frame(bad)]), { "content-type": "application/grpc", te: "trailers", ...auth() });
      expect(badSecond.trailers["grpc-status"]).toBe(String(Code.Unimplemented));
      const twoGood = await post2(server.baseUrl, Buffer.concat([frame(good), frame(good)]), { "content-type": "application/grpc", te: "trailers", ...auth() });
      expect(twoGood.trailers["grpc-status"]).toBe(String(Code.Unimplemented));
      expect(await storedCount(org.id, "large two")).toBe(0);
    });

    it("refuses more than 50,000 events as too many after the key is checked, counting without decoding the rest", async () => {
      // 1,000,000 empty events (2 bytes each): refused quickly, with the exact count.
      const many = Buffer.concat([bytesOf((w) => w.tag(1, WireType.Varint).int64(BigInt(org.id))), Buffer.alloc(2_000_000, Buffer.from([0x1a, 0x00]))]);
      const t0 = performance.now();
      const answer = await grpcSend(many, auth());
      expect(performance.now() - t0).toBeLessThan(5_000); // generous: a guard against decoding all of them, not a benchmark
      expect(answer.trailers["grpc-status"]).toBe(String(Code.ResourceExhausted));
      expect(decodeURIComponent(answer.trailers["grpc-message"]!)).toBe("too many events: at most 50,000 per call, got 1,000,000");
      // Another organization's id: permission is checked first, as for any send.
      const other = Buffer.concat([bytesOf((w) => w.tag(1, WireType.Varint).int64(BigInt(org.id) + 1000n)), Buffer.alloc(2_000_000, Buffer.from([0x1a, 0x00]))]);
      expect((await grpcSend(other, auth())).trailers["grpc-status"]).toBe(String(Code.PermissionDenied));
      // The same over Connect binary, and for a small message decoded whole (50,001 events, 100 KB).
      const small = Buffer.concat([bytesOf((w) => w.tag(1, WireType.Varint).int64(BigInt(org.id))), Buffer.alloc(100_002, Buffer.from([0x1a, 0x00]))]);
      const viaConnect = await post1(server.baseUrl, small, { "content-type": "application/proto", ...auth() });
      expect(viaConnect.status).toBe(429);
      expect(JSON.parse(Buffer.from(viaConnect.body, "hex").toString()).message).toBe("too many events: at most 50,000 per call, got 50,001");
    });

    it("checks a large signed message's signature, and still lets malformed bytes answer first", async () => {
      const signed = await server.createOrg();
      const [{ secret }] = (await enableHmac(server.baseUrl, signed.id, signed.apiKey, 1)) as [{ id: string; secret: string }];
      const message = large(signed.id, "large signed");
      const ok = await grpcSend(message, { "x-setter-signature": signPayload(secret, message) });
      expect(answerOf(ok)).toMatchObject({ inserted: 4000, rejected: 1 });
      const wrong = await grpcSend(message, { "x-setter-signature": signPayload("whsec_wrong", message) });
      expect(wrong.trailers["grpc-status"]).toBe(String(Code.Unauthenticated));
      const broken = withBrokenTail(large(signed.id, "large signed broken"));
      const brokenWrong = await grpcSend(broken, { "x-setter-signature": signPayload("whsec_wrong", broken) });
      expect(brokenWrong.trailers["grpc-status"]).toBe(String(Code.InvalidArgument));
      expect(await storedCount(signed.id, "large signed broken")).toBe(0);
    });
  });
});
