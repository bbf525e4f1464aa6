// How the benchmark reaches SendLeadEvents and FilterAudience: the REST route and Connect JSON
// with a pre-serialized body over keep-alive HTTP/1.1; Connect binary and gRPC with the generated
// client (message built before the clock, serialized inside it, as a real caller does); and the
// same two with pre-serialized bytes on the wire (the server's share alone).
import http from "node:http";
import http2 from "node:http2";
import { performance } from "node:perf_hooks";
import { fromBinary } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import {
  LeadEventService,
  SendLeadEventsResponseSchema,
  type FilterAudienceRequest,
  type FilterAudienceStreamRequest,
  type FilterAudienceStreamResponse,
  type SendLeadEventsRequest,
} from "../../gen/leadevents/v1/lead_event_service_pb.js";

export const REST_PATH = "/api/v1/webhooks/lead-events";
export const CONNECT_SEND_PATH = "/leadevents.v1.LeadEventService/SendLeadEvents";
export const CONNECT_FILTER_PATH = "/leadevents.v1.LeadEventService/FilterAudience";

/** What every send reports, whatever the transport. */
export interface SendCounts {
  received: number;
  inserted: number;
  duplicates: number;
  rejected: number;
}

export interface Timed<T> {
  ms: number;
  value: T;
}

const LARGE = 64 * 1024 * 1024;

export class HttpError extends Error {
  constructor(readonly status: number, readonly body: string) {
    super(`HTTP ${status}: ${body.slice(0, 500)}`);
  }
}

export interface Transports {
  /** POST a pre-built body over keep-alive HTTP/1.1; the clock covers sending it and reading the whole answer. */
  postRaw(path: string, body: Buffer, headers: Record<string, string>): Promise<Timed<{ status: number; body: Buffer }>>;
  restSend(body: Buffer): Promise<Timed<SendCounts>>;
  connectJsonSend(body: Buffer): Promise<Timed<SendCounts>>;
  connectBinarySend(msg: SendLeadEventsRequest): Promise<Timed<SendCounts>>;
  grpcSend(msg: SendLeadEventsRequest): Promise<Timed<SendCounts>>;
  connectBinarySendBytes(bytes: Uint8Array): Promise<Timed<SendCounts>>;
  grpcSendBytes(bytes: Uint8Array): Promise<Timed<SendCounts>>;
  filterJson(body: Buffer): Promise<Timed<{ audienceCount: number; keptCount: number }>>;
  filterGrpc(msg: FilterAudienceRequest): Promise<Timed<{ audienceCount: number; keptCount: number }>>;
  filterStream(messages: FilterAudienceStreamRequest[]): Promise<Timed<FilterAudienceStreamResponse>>;
  listEventTypesGrpc(organizationId: number): Promise<Timed<number>>;
  /** One QueryLeadEvents page over gRPC: its event count and next page token. */
  queryEventsGrpc(q: { organizationId: number; phoneE164?: string; eventType?: string; pageToken?: string }): Promise<Timed<{ events: number; nextPageToken: string }>>;
  close(): void;
}

export function createTransports(baseUrl: string, apiKey: string): Transports {
  const auth = { authorization: `Bearer ${apiKey}` };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const url = new URL(baseUrl);
  const connectBinary: Client<typeof LeadEventService> = createClient(
    LeadEventService,
    createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true, readMaxBytes: LARGE, writeMaxBytes: LARGE, nodeOptions: { agent } }),
  );
  const grpcTransport = createGrpcTransport({ baseUrl, readMaxBytes: LARGE, writeMaxBytes: LARGE });
  const grpc: Client<typeof LeadEventService> = createClient(LeadEventService, grpcTransport);
  let h2: http2.ClientHttp2Session | undefined;
  const session = () => {
    if (!h2 || h2.closed || h2.destroyed) {
      h2 = http2.connect(baseUrl);
      h2.on("error", () => {});
    }
    return h2;
  };

  const postRaw = (path: string, body: Buffer, headers: Record<string, string>) =>
    new Promise<Timed<{ status: number; body: Buffer }>>((resolve, reject) => {
      const t0 = performance.now();
      const req = http.request(
        { agent, host: url.hostname, port: url.port, path, method: "POST", headers: { ...headers, "content-length": String(body.length) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ ms: performance.now() - t0, value: { status: res.statusCode ?? 0, body: Buffer.concat(chunks) } }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });

  const countsFromJson = (r: Timed<{ status: number; body: Buffer }>): Timed<SendCounts> => {
    const text = r.value.body.toString("utf8");
    if (r.value.status !== 200) throw new HttpError(r.value.status, text);
    const j = JSON.parse(text) as SendCounts;
    return { ms: r.ms, value: { received: j.received, inserted: j.inserted, duplicates: j.duplicates, rejected: j.rejected } };
  };
  const countsFromProto = (ms: number, m: { received: number; inserted: number; duplicates: number; rejected: number }): Timed<SendCounts> =>
    ({ ms, value: { received: m.received, inserted: m.inserted, duplicates: m.duplicates, rejected: m.rejected } });

  return {
    postRaw,
    restSend: async (body) => countsFromJson(await postRaw(REST_PATH, body, { ...auth, "content-type": "application/json" })),
    connectJsonSend: async (body) =>
      countsFromJson(await postRaw(CONNECT_SEND_PATH, body, { ...auth, "content-type": "application/json", "connect-protocol-version": "1" })),
    connectBinarySend: async (msg) => {
      const t0 = performance.now();
      const res = await connectBinary.sendLeadEvents(msg, { headers: auth });
      return countsFromProto(performance.now() - t0, res);
    },
    grpcSend: async (msg) => {
      const t0 = performance.now();
      const res = await grpc.sendLeadEvents(msg, { headers: auth });
      return countsFromProto(performance.now() - t0, res);
    },
    connectBinarySendBytes: async (bytes) => {
      const r = await postRaw(CONNECT_SEND_PATH, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
        ...auth, "content-type": "application/proto", "connect-protocol-version": "1",
      });
      if (r.value.status !== 200) throw new HttpError(r.value.status, r.value.body.toString("utf8"));
      return countsFromProto(r.ms, fromBinary(SendLeadEventsResponseSchema, r.value.body));
    },
    grpcSendBytes: (bytes) =>
      new Promise((resolve, reject) => {
        // A unary gRPC call by hand: one length-prefixed message, status in the trailers.
        const frame = Buffer.alloc(5 + bytes.byteLength);
        frame.writeUInt32BE(bytes.byteLength, 1);
        frame.set(bytes, 5);
        const t0 = performance.now();
        const stream = session().request({
          ":method": "POST", ":path": CONNECT_SEND_PATH, "content-type": "application/grpc", te: "trailers", ...auth,
        });
        const chunks: Buffer[] = [];
        let status: string | undefined;
        let message = "";
        stream.on("response", (headers) => {
          // Trailers-only responses carry the status in the headers.
          if (headers["grpc-status"] !== undefined) status = String(headers["grpc-status"]);
        });
        stream.on("trailers", (t) => {
          status = String(t["grpc-status"]);
          message = decodeURIComponent(String(t["grpc-message"] ?? ""));
        });
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("error", reject);
        stream.on("end", () => {
          const ms = performance.now() - t0;
          if (status !== "0") return reject(new Error(`gRPC status ${status}: ${message}`));
          const all = Buffer.concat(chunks);
          const len = all.readUInt32BE(1);
          resolve(countsFromProto(ms, fromBinary(SendLeadEventsResponseSchema, all.subarray(5, 5 + len))));
        });
        stream.end(frame);
      }),
    filterJson: async (body) => {
      const r = await postRaw(CONNECT_FILTER_PATH, body, { ...auth, "content-type": "application/json", "connect-protocol-version": "1" });
      const text = r.value.body.toString("utf8");
      if (r.value.status !== 200) throw new HttpError(r.value.status, text);
      const j = JSON.parse(text) as { audienceCount: number; keptCount: number };
      return { ms: r.ms, value: { audienceCount: j.audienceCount, keptCount: j.keptCount } };
    },
    filterGrpc: async (msg) => {
      const t0 = performance.now();
      const res = await grpc.filterAudience(msg, { headers: auth });
      return { ms: performance.now() - t0, value: { audienceCount: res.audienceCount, keptCount: res.keptCount } };
    },
    listEventTypesGrpc: async (organizationId) => {
      const t0 = performance.now();
      const res = await grpc.listEventTypes({ organizationId: BigInt(organizationId) }, { headers: auth });
      return { ms: performance.now() - t0, value: res.eventTypes.length };
    },
    queryEventsGrpc: async (q) => {
      const t0 = performance.now();
      const res = await grpc.queryLeadEvents({ ...q, organizationId: BigInt(q.organizationId) }, { headers: auth });
      return { ms: performance.now() - t0, value: { events: res.events.length, nextPageToken: res.nextPageToken } };
    },
    filterStream: async (messages) => {
      async function* gen() {
        for (const m of messages) yield m;
      }
      const t0 = performance.now();
      const res = await grpc.filterAudienceStream(gen(), { headers: auth });
      return { ms: performance.now() - t0, value: res };
    },
    close: () => {
      agent.destroy();
      h2?.close();
    },
  };
}
