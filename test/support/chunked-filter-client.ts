// FilterAudienceChunked from a test: gRPC or Connect (JSON) over HTTP/2, the responses as
// documented JSON, and the final status.
import { fromJson, toJson, type JsonObject } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import {
  FilterAudienceChunkedRequestSchema,
  FilterAudienceChunkedResponseSchema,
  LeadEventService,
  type FilterAudienceChunkedRequest,
} from "../../gen/leadevents/v1/lead_event_service_pb.js";

export type ChunkedProtocol = "grpc" | "connect-json";

export interface ChunkedOutcome {
  /** Every response received, in order, also when the stream then failed. */
  responses: JsonObject[];
  /** Undefined when the stream ended OK; otherwise the code, lower snake case. */
  code: string | undefined;
  message: string;
}

const CODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Code).filter(([, v]) => typeof v === "number").map(([k, v]) => [v, k.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase()]),
);

export function chunkedFilterClient(baseUrl: string, protocol: ChunkedProtocol = "grpc") {
  const transport = protocol === "grpc"
    ? createGrpcTransport({ baseUrl, readMaxBytes: 64 * 1024 * 1024 })
    : createConnectTransport({ baseUrl, httpVersion: "2", readMaxBytes: 64 * 1024 * 1024 });
  const client = createClient(LeadEventService, transport);
  return {
    /**
     * `first` (organizationId, filter, asOf, phones) then each further chunk of phones.
     * `onResponse` sees each response as it arrives (e.g. to pace the requests on the answers).
     */
    async run(first: JsonObject, chunks: Iterable<string[] | JsonObject> | AsyncIterable<string[] | JsonObject>, apiKey: string | undefined, onResponse?: (r: JsonObject) => void): Promise<ChunkedOutcome> {
      async function* requests(): AsyncGenerator<FilterAudienceChunkedRequest> {
        yield fromJson(FilterAudienceChunkedRequestSchema, first);
        // A later message: its phones, or a whole message (to test what else it may carry).
        for await (const c of chunks) yield fromJson(FilterAudienceChunkedRequestSchema, Array.isArray(c) ? { phones: c } : c);
      }
      const responses: JsonObject[] = [];
      try {
        const headers = apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` };
        for await (const res of client.filterAudienceChunked(requests(), { headers })) {
          const json = toJson(FilterAudienceChunkedResponseSchema, res, { alwaysEmitImplicit: true }) as JsonObject;
          responses.push(json);
          onResponse?.(json);
        }
        return { responses, code: undefined, message: "" };
      } catch (err) {
        const e = ConnectError.from(err);
        return { responses, code: CODE_NAMES[e.code] ?? String(e.code), message: e.rawMessage };
      }
    },
  };
}

/** The stream's answer put together: kept phones of all responses, unparseable entries, the summary. */
export function assemble(responses: JsonObject[]): { kept: string[]; unparseable: string[]; summary: JsonObject | undefined } {
  const kept: string[] = [];
  const unparseable: string[] = [];
  for (const r of responses) {
    kept.push(...(r.keptPhones as string[]));
    unparseable.push(...(r.unparseablePhones as string[]));
  }
  return { kept, unparseable, summary: responses.at(-1)?.summary as JsonObject | undefined };
}
