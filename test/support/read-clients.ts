// Clients for the read-side RPCs the shared clients.ts does not cover: the streamed filter
// (gRPC, HTTP/2), the event catalog and erasure (Connect JSON and gRPC).
import { fromJson, toJson, type JsonObject } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  DeleteLeadEventsRequestSchema,
  DeleteLeadEventsResponseSchema,
  FilterAudienceStreamRequestSchema,
  FilterAudienceStreamResponseSchema,
  LeadEventService,
  ListEventTypesRequestSchema,
  ListEventTypesResponseSchema,
} from "../../gen/leadevents/v1/lead_event_service_pb.js";
import type { Outcome } from "./clients.js";
import { postJson } from "./test-server.js";

/** gRPC status codes by number, named as the shared cases name them (lower snake case). */
const CODE_NAMES: Record<number, string> = {
  1: "canceled", 2: "unknown", 3: "invalid_argument", 4: "deadline_exceeded", 5: "not_found", 6: "already_exists",
  7: "permission_denied", 8: "resource_exhausted", 9: "failed_precondition", 10: "aborted", 11: "out_of_range",
  12: "unimplemented", 13: "internal", 14: "unavailable", 15: "data_loss", 16: "unauthenticated",
};

function codeName(err: unknown): { code: string; message: string } {
  const e = ConnectError.from(err);
  return { code: CODE_NAMES[e.code] ?? String(e.code), message: e.rawMessage };
}

export interface ReadClient {
  /** FilterAudienceStream: `first` (organizationId, filter, asOf, phones) then each further chunk of phones. */
  filterStream(first: JsonObject, chunks: Iterable<string[]> | AsyncIterable<string[]>, apiKey: string): Promise<Outcome>;
  listEventTypes(body: JsonObject, apiKey: string): Promise<Outcome>;
  deleteLeadEvents(body: JsonObject, apiKey: string): Promise<Outcome>;
}

export function grpcReadClient(baseUrl: string): ReadClient {
  const client = createClient(LeadEventService, createGrpcTransport({ baseUrl, readMaxBytes: 64 * 1024 * 1024 }));
  const opts = (apiKey: string) => ({ headers: { authorization: `Bearer ${apiKey}` } });
  const wrap = async (fn: () => Promise<JsonObject>): Promise<Outcome> => {
    try {
      return { ok: true, body: await fn() };
    } catch (err) {
      const { code, message } = codeName(err);
      return { ok: false, code, http: undefined, message };
    }
  };
  return {
    filterStream: (first, chunks, apiKey) =>
      wrap(async () => {
        async function* messages() {
          yield fromJson(FilterAudienceStreamRequestSchema, first);
          for await (const phones of chunks) yield fromJson(FilterAudienceStreamRequestSchema, { phones });
        }
        const res = await client.filterAudienceStream(messages(), opts(apiKey));
        return toJson(FilterAudienceStreamResponseSchema, res, { alwaysEmitImplicit: true }) as JsonObject;
      }),
    listEventTypes: (body, apiKey) =>
      wrap(async () => toJson(ListEventTypesResponseSchema, await client.listEventTypes(fromJson(ListEventTypesRequestSchema, body), opts(apiKey)), { alwaysEmitImplicit: true }) as JsonObject),
    deleteLeadEvents: (body, apiKey) =>
      wrap(async () => toJson(DeleteLeadEventsResponseSchema, await client.deleteLeadEvents(fromJson(DeleteLeadEventsRequestSchema, body), opts(apiKey)), { alwaysEmitImplicit: true }) as JsonObject),
  };
}

async function connectJson(baseUrl: string, method: string, body: unknown, apiKey: string): Promise<Outcome> {
  const res = await postJson(`${baseUrl}/leadevents.v1.LeadEventService/${method}`, body, { authorization: `Bearer ${apiKey}`, "connect-protocol-version": "1" });
  if (res.status === 200) return { ok: true, body: res.body };
  return { ok: false, code: res.body?.code, http: res.status, message: res.body?.message };
}

/** Connect JSON over HTTP/1.1 for the unary RPCs (client streaming needs HTTP/2: use gRPC). */
export function connectJsonReadClient(baseUrl: string): Omit<ReadClient, "filterStream"> {
  return {
    listEventTypes: (body, apiKey) => connectJson(baseUrl, "ListEventTypes", body, apiKey),
    deleteLeadEvents: (body, apiKey) => connectJson(baseUrl, "DeleteLeadEvents", body, apiKey),
  };
}
