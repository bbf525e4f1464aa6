// The same events sent as JSON (REST) and as protobuf (Connect binary, gRPC) get the same answer
// and store the same rows, for what protobuf-es alone would read differently: a leading U+FEFF
// in a string, a metadata key "__proto__" (refused everywhere), integer-like metadata keys,
// metadata nested past protobuf's message limit. The
// protobuf bytes are written by hand (a generated client's fromJson would itself drop
// "__proto__"). Found by the breaker pass.
import http2 from "node:http2";
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SendLeadEventsResponseSchema } from "../../gen/leadevents/v1/lead_event_service_pb.js";
import { postJson, startTestServer, type TestOrg, type TestServer } from "../support/test-server.js";

const LD = WireType.LengthDelimited;

/** A JSON value as google.protobuf.Value bytes, every own key included ("__proto__" too). */
function writeValue(w: BinaryWriter, v: unknown): void {
  if (v === null) w.tag(1, WireType.Varint).int32(0);
  else if (typeof v === "number") w.tag(2, WireType.Bit64).double(v);
  else if (typeof v === "string") w.tag(3, LD).string(v);
  else if (typeof v === "boolean") w.tag(4, WireType.Varint).bool(v);
  else if (Array.isArray(v)) {
    w.tag(6, LD).fork();
    for (const item of v) {
      w.tag(1, LD).fork();
      writeValue(w, item);
      w.join();
    }
    w.join();
  } else {
    w.tag(5, LD).fork();
    for (const key of Object.keys(v as object)) {
      w.tag(1, LD).fork().tag(1, LD).string(key).tag(2, LD).fork();
      writeValue(w, (v as Record<string, unknown>)[key]);
      w.join().join();
    }
    w.join();
  }
}

interface JsonEvent {
  phoneE164: string;
  occurredAt: string;
  eventType?: string;
  metadata?: unknown;
}

function requestBytes(organizationId: number, eventType: string, events: JsonEvent[]): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.Varint).int64(organizationId);
  w.tag(2, LD).string(eventType);
  for (const e of events) {
    w.tag(3, LD).fork();
    w.tag(1, LD).string(e.phoneE164);
    w.tag(2, LD).string(e.occurredAt);
    if (e.metadata !== undefined) {
      w.tag(3, LD).fork();
      writeValue(w, e.metadata);
      w.join();
    }
    if (e.eventType !== undefined) w.tag(4, LD).string(e.eventType);
    w.join();
  }
  return w.finish();
}

function deep(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}

// Parsed from JSON text, so "__proto__" is an own key, as the REST route reads it.
const EVENTS: JsonEvent[] = JSON.parse(
  JSON.stringify([
    { phoneE164: "+14155550101", occurredAt: "2026-11-30T18:34:00Z", metadata: { a: 1 } },
    { phoneE164: "+14155550102", occurredAt: "2026-11-30T18:34:00Z", eventType: "\ufeffpaid" },
    { phoneE164: "+14155550103", occurredAt: "\ufeff2026-11-30T18:34:00Z" },
    { phoneE164: "+14155550104", occurredAt: "2026-11-30T18:34:00Z", metadata: { s: "\ufeffx", "\ufeffk": 1 } },
    { phoneE164: "+14155550105", occurredAt: "2026-11-30T18:34:00Z", metadata: deep(49) },
    { phoneE164: "+14155550106", occurredAt: "2026-11-30T18:34:00Z", metadata: deep(60) },
    { phoneE164: "+14155550107", occurredAt: "2026-11-30T18:34:00Z", metadata: deep(33) },
    { phoneE164: "+14155550108", occurredAt: "2026-11-30T18:34:00Z", metadata: deep(32) },
    { phoneE164: "+14155550109", occurredAt: "2026-11-30T18:34:00Z", metadata: { b: 1, z: { y: 1, "10": 2 } } },
  ]).replace('{"a":1}', '{"a":1,"__proto__":{"x":1},"o":{"__proto__":2}}'),
);

describe("JSON and protobuf sends agree", () => {
  let server: TestServer;
  let org: TestOrg;
  let db: pg.Client;

  beforeAll(async () => {
    server = await startTestServer();
    org = await server.createOrg({ defaultRegion: "US" });
    db = new pg.Client({ connectionString: server.databaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await server?.close();
  });

  const stored = async (eventType: string) =>
    (await db.query(`select phone_e164, (extract(epoch from occurred_at) * 1000000)::int8::text as us, metadata::text as m from lead_event where organization_id = $1 and event_type = $2 order by phone_e164`, [org.id, eventType])).rows;

  const viaRest = async (eventType: string) => {
    const res = await postJson(`${server.baseUrl}/api/v1/webhooks/lead-events`, { organizationId: org.id, eventType, events: EVENTS }, { authorization: `Bearer ${org.apiKey}` });
    expect(res.status).toBe(200);
    return res.body;
  };

  const viaConnectBinary = async (eventType: string) => {
    const res = await fetch(`${server.baseUrl}/leadevents.v1.LeadEventService/SendLeadEvents`, {
      method: "POST",
      headers: { "content-type": "application/proto", "connect-protocol-version": "1", authorization: `Bearer ${org.apiKey}` },
      body: requestBytes(org.id, eventType, EVENTS),
    });
    expect(res.status).toBe(200);
    return toJson(SendLeadEventsResponseSchema, fromBinary(SendLeadEventsResponseSchema, new Uint8Array(await res.arrayBuffer())), { alwaysEmitImplicit: true });
  };

  const viaGrpc = (eventType: string) =>
    new Promise<unknown>((resolve, reject) => {
      const session = http2.connect(server.baseUrl);
      session.on("error", reject);
      const message = requestBytes(org.id, eventType, EVENTS);
      const frame = Buffer.alloc(5 + message.length);
      frame.writeUInt32BE(message.length, 1);
      frame.set(message, 5);
      const req = session.request({ ":method": "POST", ":path": "/leadevents.v1.LeadEventService/SendLeadEvents", "content-type": "application/grpc", te: "trailers", authorization: `Bearer ${org.apiKey}` });
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("trailers", (t) => {
        if (t["grpc-status"] !== "0") reject(new Error(`grpc-status ${String(t["grpc-status"])}: ${String(t["grpc-message"])}`));
      });
      req.on("end", () => {
        session.close();
        const body = Buffer.concat(chunks);
        resolve(toJson(SendLeadEventsResponseSchema, fromBinary(SendLeadEventsResponseSchema, body.subarray(5)), { alwaysEmitImplicit: true }));
      });
      req.end(frame);
    });

  it("answers and stores alike over REST, Connect binary and gRPC", async () => {
    const rest = await viaRest("parity_rest");
    // What JSON does with these events, so that the comparison below means something.
    expect(rest).toMatchObject({ received: 9, inserted: 3, rejected: 6 });
    const tooDeep = "invalid metadata: nested deeper than 32 levels";
    expect(rest.rejects.map((r: { index: number; reason: string }) => [r.index, r.reason])).toEqual([
      [0, 'invalid metadata: contains the key "__proto__", which protobuf and JavaScript clients cannot read back'],
      [1, "invalid eventType: contains a control or invisible formatting character"],
      [2, "invalid occurredAt: not an RFC 3339 timestamp"],
      [4, tooDeep],
      [5, tooDeep],
      [6, tooDeep],
    ]);
    const restRows = await stored("parity_rest");
    // Stored as json: the compact text, keys in the order sent but integer-like ones first (as
    // JavaScript lists them); every transport must store it byte for byte.
    expect(restRows.map((r) => r.m)).toEqual([
      '{"s":"\ufeffx","\ufeffk":1}',
      `${'{"a":'.repeat(32)}1${"}".repeat(32)}`,
      '{"b":1,"z":{"10":2,"y":1}}',
    ]);
    for (const [name, send] of [["parity_connect_binary", viaConnectBinary], ["parity_grpc", viaGrpc]] as const) {
      expect({ name, answer: await send(name) }).toEqual({ name, answer: rest });
      expect({ name, rows: await stored(name) }).toEqual({ name, rows: restRows });
    }
  });
});
