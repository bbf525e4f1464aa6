// FilterAudienceChunked end to end: the unary FilterAudience's answer, streamed back part by part
// (one response per request message, the summary last), duplicates across chunks, unparseable
// entries, tenancy and scopes, refusals, and the stream cap (shared with FilterAudienceStream).
import http from "node:http";
import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, toBinary, type JsonObject } from "@bufbuild/protobuf";
import { FilterAudienceChunkedRequestSchema, FilterMode } from "../../gen/leadevents/v1/lead_event_service_pb.js";
import { startTestServer, type TestServer, type TestOrg } from "../support/test-server.js";
import { connectJsonClient, type LeadEventsClient } from "../support/clients.js";
import { grpcReadClient } from "../support/read-clients.js";
import { assemble, chunkedFilterClient } from "../support/chunked-filter-client.js";

const AS_OF = "2026-11-30T20:00:00Z";
const WINDOWED = { mode: "FILTER_MODE_EXCLUDE", eventType: "webinar_attended", withinMinutes: 120 };

describe("FilterAudienceChunked", () => {
  let server: TestServer;
  let org: TestOrg;
  let json: LeadEventsClient;
  let chunked: ReturnType<typeof chunkedFilterClient>;

  const send = async (o: TestOrg, eventType: string, events: Array<{ phoneE164: string; occurredAt: string }>) => {
    const res = await json.send({ organizationId: String(o.id), eventType, events }, o.apiKey);
    if (!res.ok || res.body.rejected !== 0) throw new Error(`send failed: ${JSON.stringify(res).slice(0, 300)}`);
  };
  const unary = async (f: JsonObject, phones: string[]) => {
    const res = await json.filter({ organizationId: String(org.id), filter: f, asOf: AS_OF, phones }, org.apiKey);
    if (!res.ok) throw new Error(`${res.code}: ${res.message}`);
    return res.body as { keptPhones: string[]; unparseablePhones: string[]; audienceCount: number; keptCount: number };
  };
  const head = (f: JsonObject, phones: string[], o: TestOrg = org) => ({ organizationId: String(o.id), filter: f, asOf: AS_OF, phones });

  beforeAll(async () => {
    server = await startTestServer();
    json = connectJsonClient(server.baseUrl);
    chunked = chunkedFilterClient(server.baseUrl);
    org = await server.createOrg({ defaultRegion: "US" });
    await send(org, "webinar_attended", [
      { phoneE164: "+14155550101", occurredAt: "2026-11-30T18:00:00Z" }, // exactly 120 min before asOf
      { phoneE164: "+14155550102", occurredAt: "2026-11-30T17:59:59.999999Z" }, // 1 µs outside
      { phoneE164: "+14155550103", occurredAt: "2026-11-30T20:00:00Z" }, // at asOf
      { phoneE164: "+14155550104", occurredAt: "2026-11-30T20:00:00.000001Z" }, // after asOf: never counts
      { phoneE164: "+14155550105", occurredAt: "2026-11-30T19:30:00.5Z" },
    ]);
    await send(org, "mastery_purchase", [{ phoneE164: "+14155550106", occurredAt: "2025-01-01T00:00:00Z" }]);
    // 3,000 of the +1 646 555 xxxx numbers had webinar_attended, at times inside and outside the window.
    const times = ["2026-11-30T19:59:00Z", "2026-11-30T17:00:00Z", "2026-11-30T18:30:00Z"];
    await send(org, "webinar_attended", Array.from({ length: 3000 }, (_, k) => ({ phoneE164: `+1646555${String(k * 3).padStart(4, "0")}`, occurredAt: times[k % 3]! })));
  });
  afterAll(() => server?.close());

  const AUDIENCE = ["+14155550101", "+14155550102", "+14155550103", "+14155550104", "+14155550105", "+14155550106", "+14155550107"];

  it("gives the unary answer, over gRPC and Connect JSON on HTTP/2, for every kind of filter", async () => {
    const audience = [...AUDIENCE, "(415) 555-0101", "not a phone", "", "+14155550199", "+14155550105", "tel:+1-415-555-0103"];
    const filters = [
      { mode: "FILTER_MODE_INCLUDE", eventType: "webinar_attended" },
      WINDOWED,
      { mode: "FILTER_MODE_INCLUDE", eventType: "webinar_attended", withinMinutes: 0 },
      { mode: "FILTER_MODE_EXCLUDE", eventType: "mastery_purchase" },
      { mode: "FILTER_MODE_EXCLUDE", eventType: "no_such_type" },
    ];
    for (const protocol of ["grpc", "connect-json"] as const) {
      const client = chunkedFilterClient(server.baseUrl, protocol);
      for (const f of filters) {
        const expected = await unary(f, audience);
        const res = await client.run(head(f, audience.slice(0, 3)), [audience.slice(3, 9), [], audience.slice(9)], org.apiKey);
        expect(res.code, `${protocol} ${res.message}`).toBeUndefined();
        const got = assemble(res.responses);
        expect([...got.kept].sort(), `${protocol} ${JSON.stringify(f)}`).toEqual(expected.keptPhones);
        expect(got.unparseable).toEqual(expected.unparseablePhones);
        expect(got.summary).toEqual({ audienceCount: expected.audienceCount, keptCount: expected.keptCount, unparseableCount: 2 });
      }
    }
  });

  it("answers each request message in order, an empty one too, and ends with a summary of its own", async () => {
    const res = await chunked.run(head(WINDOWED, []), [["+14155550101", "+14155550107", "x"], [], ["+14155550104", "+14155550102"]], org.apiKey);
    expect(res.code).toBeUndefined();
    expect(res.responses).toEqual([
      { keptPhones: [], unparseablePhones: [], decidedCount: 0 },
      { keptPhones: ["+14155550107"], unparseablePhones: ["x"], decidedCount: 3 },
      { keptPhones: [], unparseablePhones: [], decidedCount: 3 },
      { keptPhones: ["+14155550102", "+14155550104"], unparseablePhones: [], decidedCount: 5 },
      { keptPhones: [], unparseablePhones: [], decidedCount: 5, summary: { audienceCount: 5, keptCount: 3, unparseableCount: 1 } },
    ]);
  });

  it("lets a client wait for each answer before sending the next chunk", async () => {
    const chunks = [["+14155550101"], ["+14155550102"], ["+14155550107"]];
    let answered = 0;
    let wake: () => void = () => {};
    async function* paced() {
      for (const c of chunks) {
        // Wait until every message sent so far (the first one included) is answered.
        while (answered < 1 + chunks.indexOf(c)) await new Promise<void>((r) => (wake = r));
        yield c;
      }
    }
    const res = await chunked.run(head(WINDOWED, []), paced(), org.apiKey, () => {
      answered++;
      wake();
    });
    expect(res.code).toBeUndefined();
    expect(assemble(res.responses).kept).toEqual(["+14155550102", "+14155550107"]);
    expect(res.responses).toHaveLength(5);
  });

  it("decides a phone once, where it first appears; repeats across chunks only count", async () => {
    const res = await chunked.run(
      head(WINDOWED, ["+14155550107", "+14155550101"]),
      [["(415) 555-0107", "+14155550102", "+14155550101"], ["14155550107", "+14155550102", "tel:+14155550102", "+14155550108"]],
      org.apiKey,
    );
    expect(res.code).toBeUndefined();
    expect(res.responses.map((r) => r.keptPhones)).toEqual([["+14155550107"], ["+14155550102"], ["+14155550108"], []]);
    const expected = await unary(WINDOWED, ["+14155550107", "+14155550101", "(415) 555-0107", "+14155550102", "+14155550101", "14155550107", "+14155550102", "tel:+14155550102", "+14155550108"]);
    expect(res.responses.at(-1)!.summary).toEqual({ audienceCount: 9, keptCount: expected.keptCount, unparseableCount: 0 });
    expect(expected.keptCount).toBe(3);
  });

  it("matches the unary answer on 100,000 phones sent in chunks of 7,000 with repeats across them", async () => {
    // 60,000 distinct numbers, 3,000 of which had the event (a third in the window); 40,000 repeats, in another spelling.
    const distinct = Array.from({ length: 60_000 }, (_, i) => `+1646${5_550_000 + i}`);
    const audience = [...distinct];
    for (let i = 0; i < 40_000; i++) {
      const p = distinct[(i * 7919) % distinct.length]!;
      audience.push(`(${p.slice(2, 5)}) ${p.slice(5, 8)}-${p.slice(8)}`);
    }
    for (const f of [WINDOWED, { mode: "FILTER_MODE_INCLUDE", eventType: "webinar_attended" }]) {
      const expected = await unary(f, audience);
      const chunks: string[][] = [];
      for (let i = 7_000; i < audience.length; i += 7_000) chunks.push(audience.slice(i, i + 7_000));
      const res = await chunked.run(head(f, audience.slice(0, 7_000)), chunks, org.apiKey);
      expect(res.code, res.message).toBeUndefined();
      const got = assemble(res.responses);
      expect(new Set(got.kept).size).toBe(got.kept.length);
      expect([...got.kept].sort()).toEqual(expected.keptPhones);
      for (const r of res.responses) expect(r.keptPhones).toEqual([...(r.keptPhones as string[])].sort());
      expect(got.summary).toMatchObject({ audienceCount: 100_000, keptCount: expected.keptCount });
      expect(res.responses.map((r) => r.decidedCount).slice(0, -1)).toEqual(Array.from({ length: 15 }, (_, k) => Math.min(100_000, (k + 1) * 7_000)));
    }
  }, 60_000);

  it("answers a message of more than 50,000 phones in parts of 50,000", async () => {
    const phones = Array.from({ length: 120_000 }, (_, i) => `+1212${String(2_000_000 + i)}`);
    phones[110_000] = "+14155550101"; // had the event in the window: dropped
    const res = await chunked.run(head(WINDOWED, phones), [], org.apiKey);
    expect(res.code, res.message).toBeUndefined();
    expect(res.responses.map((r) => r.decidedCount)).toEqual([50_000, 100_000, 120_000, 120_000]);
    expect(res.responses.map((r) => (r.keptPhones as string[]).length)).toEqual([50_000, 50_000, 19_999, 0]);
    expect(res.responses.at(-1)!.summary).toEqual({ audienceCount: 120_000, keptCount: 119_999, unparseableCount: 0 });
  }, 60_000);

  it("returns every unparseable entry, as sent and in order: nothing is held back, so nothing is capped", async () => {
    const bad = Array.from({ length: 12_000 }, (_, i) => `bad-${i}`);
    const res = await chunked.run(head({ mode: "FILTER_MODE_INCLUDE", eventType: "webinar_attended" }, bad.slice(0, 6_000)), [bad.slice(6_000), ["+14155550101"]], org.apiKey);
    expect(res.code).toBeUndefined();
    const got = assemble(res.responses);
    expect(got.unparseable).toEqual(bad);
    expect(got.kept).toEqual(["+14155550101"]);
    expect(got.summary).toEqual({ audienceCount: 12_001, keptCount: 1, unparseableCount: 12_000 });
  });

  it("counts only the caller's organization's events, with its phone rules", async () => {
    const other = await server.createOrg();
    await send(other, "webinar_attended", [{ phoneE164: "+14155550107", occurredAt: "2026-11-30T19:00:00Z" }]);
    const include = { mode: "FILTER_MODE_INCLUDE", eventType: "webinar_attended" };
    const mine = await chunked.run(head(include, ["+14155550107", "+14155550101"]), [], org.apiKey);
    expect(assemble(mine.responses).kept).toEqual(["+14155550101"]);
    // No default region: a national number is not a phone for this organization.
    const theirs = await chunked.run(head(include, ["+14155550107", "+14155550101"], other), [["(415) 555-0107"]], other.apiKey);
    expect(assemble(theirs.responses)).toMatchObject({ kept: ["+14155550107"], unparseable: ["(415) 555-0107"] });
  });

  it("needs credentials, the read scope and the caller's own organization, checked before any answer", async () => {
    const include = { mode: "FILTER_MODE_INCLUDE", eventType: "webinar_attended" };
    const none = await chunked.run(head(include, AUDIENCE), [AUDIENCE], undefined);
    expect(none).toMatchObject({ code: "unauthenticated", responses: [] });
    const ingestOnly = await server.createKey(org.id, ["ingest"]);
    expect(await chunked.run(head(include, AUDIENCE), [AUDIENCE], ingestOnly)).toMatchObject({ code: "permission_denied", responses: [] });
    const other = await server.createOrg();
    expect(await chunked.run(head(include, AUDIENCE), [AUDIENCE], other.apiKey)).toMatchObject({ code: "permission_denied", responses: [] });
    // Without organizationId, the key's own organization.
    const readOnly = await server.createKey(org.id, ["read"]);
    const own = await chunked.run({ filter: include, asOf: AS_OF, phones: AUDIENCE }, [], readOnly);
    expect(assemble(own.responses).kept).toEqual(["+14155550101", "+14155550102", "+14155550103", "+14155550105"]);
  });

  it("refuses a first message without a filter, or with a bad filter or asOf, with INVALID_ARGUMENT and no answer", async () => {
    const bad: JsonObject[] = [
      { organizationId: String(org.id), phones: AUDIENCE },
      head({ mode: "FILTER_MODE_UNSPECIFIED", eventType: "webinar_attended" }, AUDIENCE),
      head({ mode: "FILTER_MODE_INCLUDE", eventType: "" }, AUDIENCE),
      head({ mode: "FILTER_MODE_INCLUDE", eventType: "x", withinMinutes: -1 }, AUDIENCE),
      { ...head({ mode: "FILTER_MODE_INCLUDE", eventType: "x" }, AUDIENCE), asOf: "2026-02-30T10:00:00Z" },
    ];
    for (const first of bad) {
      const res = await chunked.run(first, [AUDIENCE], org.apiKey);
      expect(res, JSON.stringify(first)).toMatchObject({ code: "invalid_argument", responses: [] });
    }
  });

  it("lets a later message repeat the first one's filter, organization and asOf, but not change them", async () => {
    const include = { mode: "FILTER_MODE_INCLUDE", eventType: "webinar_attended" };
    const repeated = await chunked.run(head(include, AUDIENCE.slice(0, 3)), [head(include, AUDIENCE.slice(3))], org.apiKey);
    expect(repeated.code).toBeUndefined();
    const changed: JsonObject[] = [
      { filter: { ...include, mode: "FILTER_MODE_EXCLUDE" }, phones: AUDIENCE.slice(3) },
      { filter: { ...include, withinMinutes: 120 }, phones: AUDIENCE.slice(3) },
      { asOf: "2026-11-30T21:00:00Z", phones: AUDIENCE.slice(3) },
      { organizationId: String(org.id + 1000), phones: AUDIENCE.slice(3) },
    ];
    for (const later of changed) {
      const res = await chunked.run(head(include, AUDIENCE.slice(0, 3)), [later], org.apiKey);
      expect(res.code, JSON.stringify(later)).toBe("invalid_argument");
      expect(res.message).toContain("first message");
    }
  });

  it("refuses HTTP/1.1 (bidirectional streaming needs HTTP/2)", async () => {
    const body = JSON.stringify(head(WINDOWED, AUDIENCE));
    const frame = Buffer.alloc(5 + Buffer.byteLength(body));
    frame.writeUInt32BE(Buffer.byteLength(body), 1);
    frame.write(body, 5);
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(server.baseUrl);
      const req = http.request(
        { host: url.hostname, port: url.port, method: "POST", path: "/leadevents.v1.LeadEventService/FilterAudienceChunked", headers: { "content-type": "application/connect+json", authorization: `Bearer ${org.apiKey}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end(frame);
    });
    expect(status).toBe(505);
  });

  it("never writes an audience phone to the logs", async () => {
    await chunked.run(head(WINDOWED, ["+14155557788"]), [["bad 4155557789"]], org.apiKey);
    const text = server.logs.join("\n");
    expect(text).not.toContain("4155557788");
    expect(text).not.toContain("4155557789");
  });

  describe("the stream cap (5,000,000 entries), shared with FilterAudienceStream", () => {
    // One raw gRPC call: the filter message, then 5,000,000 empty entries in one message (two bytes
    // each on the wire, just under the 10 MiB message cap), encoded by hand: protobuf-es would take
    // half a minute to encode five million strings.
    const call = (method: string) =>
      new Promise<{ status: string | undefined; message: string; messages: number }>((resolve, reject) => {
        const first = toBinary(FilterAudienceChunkedRequestSchema, create(FilterAudienceChunkedRequestSchema, {
          organizationId: BigInt(org.id), filter: { mode: FilterMode.EXCLUDE, eventType: "webinar_attended" }, asOf: AS_OF, phones: ["+14155550107"],
        }));
        const empties = Buffer.alloc(5_000_000 * 2, Buffer.from([0x22, 0x00])); // field 4 (phones), length 0
        const frame = (bytes: Uint8Array) => {
          const f = Buffer.alloc(5 + bytes.byteLength);
          f.writeUInt32BE(bytes.byteLength, 1);
          f.set(bytes, 5);
          return f;
        };
        const session = http2.connect(server.baseUrl);
        session.on("error", reject);
        const stream = session.request({ ":method": "POST", ":path": `/leadevents.v1.LeadEventService/${method}`, "content-type": "application/grpc", te: "trailers", authorization: `Bearer ${org.apiKey}` });
        let status: string | undefined;
        let message = "";
        let bytes = 0;
        stream.on("response", (h) => {
          if (h["grpc-status"] !== undefined) [status, message] = [String(h["grpc-status"]), decodeURIComponent(String(h["grpc-message"] ?? ""))];
        });
        stream.on("trailers", (t) => ([status, message] = [String(t["grpc-status"]), decodeURIComponent(String(t["grpc-message"] ?? ""))]));
        stream.on("data", (c: Buffer) => (bytes += c.length));
        stream.on("error", () => {});
        stream.on("close", () => {
          session.close();
          resolve({ status, message, messages: bytes });
        });
        stream.write(frame(first));
        stream.end(frame(empties));
      });

    it("ends FilterAudienceChunked with RESOURCE_EXHAUSTED after answering the first message", async () => {
      const res = await call("FilterAudienceChunked");
      expect(res.status).toBe("8");
      expect(res.message).toContain("5,000,000");
      expect(res.messages).toBeGreaterThan(0); // the first message's answer came before the refusal
    }, 60_000);

    it("refuses it in FilterAudienceStream too", async () => {
      const res = await call("FilterAudienceStream");
      expect(res.status).toBe("8");
      expect(res.message).toContain("5,000,000");
    }, 60_000);
  });

  it("gives the same kept phones as FilterAudienceStream for the same chunks", async () => {
    const chunks = [AUDIENCE.slice(2), ["nope", "+14155550102"], [], AUDIENCE];
    const old = await grpcReadClient(server.baseUrl).filterStream(head(WINDOWED, AUDIENCE.slice(0, 2)), chunks, org.apiKey);
    const res = await chunked.run(head(WINDOWED, AUDIENCE.slice(0, 2)), chunks, org.apiKey);
    expect(old.ok).toBe(true);
    if (!old.ok) return;
    const got = assemble(res.responses);
    expect([...got.kept].sort()).toEqual(old.body.keptPhones);
    expect(got.unparseable).toEqual(old.body.unparseablePhones);
    expect(got.summary).toMatchObject({ audienceCount: old.body.audienceCount, keptCount: old.body.keptCount });
  });
});
