// The three ways a caller reaches SendLeadEvents and friends: the REST route, Connect JSON
// over HTTP/1.1, and gRPC over HTTP/2 with the generated client. Each returns the response
// as documented JSON so tests compare one shape.
import { fromJson, toJson, type JsonObject } from "@bufbuild/protobuf";
import { ConnectError, Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  LeadEventService,
  SendLeadEventsRequestSchema,
  SendLeadEventsResponseSchema,
  QueryLeadEventsRequestSchema,
  QueryLeadEventsResponseSchema,
  FilterAudienceRequestSchema,
  FilterAudienceResponseSchema,
} from "../../gen/leadevents/v1/lead_event_service_pb.js";
import { postJson } from "./test-server.js";

export type Outcome = { ok: true; body: any } | { ok: false; code: string; http: number | undefined; message: string };

export type TransportName = "rest" | "connect-json" | "grpc";

export interface LeadEventsClient {
  name: TransportName;
  send(body: unknown, apiKey: string): Promise<Outcome>;
  query(body: unknown, apiKey: string): Promise<Outcome>;
  filter(body: unknown, apiKey: string): Promise<Outcome>;
}

const CODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Code).filter(([, v]) => typeof v === "number").map(([k, v]) => [v, k.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase()]),
);

async function connectJson(baseUrl: string, method: string, body: unknown, apiKey: string): Promise<Outcome> {
  const res = await postJson(`${baseUrl}/leadevents.v1.LeadEventService/${method}`, body, { authorization: `Bearer ${apiKey}`, "connect-protocol-version": "1" });
  if (res.status === 200) return { ok: true, body: res.body };
  return { ok: false, code: res.body?.code, http: res.status, message: res.body?.message };
}

export function restClient(baseUrl: string): LeadEventsClient {
  const c = connectJsonClient(baseUrl);
  return {
    ...c,
    name: "rest",
    send: async (body, apiKey) => {
      const res = await postJson(`${baseUrl}/api/v1/webhooks/lead-events`, body, { authorization: `Bearer ${apiKey}` });
      if (res.status === 200) return { ok: true, body: res.body };
      return { ok: false, code: res.body?.error?.code, http: res.status, message: res.body?.error?.message };
    },
  };
}

export function connectJsonClient(baseUrl: string): LeadEventsClient {
  return {
    name: "connect-json",
    send: (body, apiKey) => connectJson(baseUrl, "SendLeadEvents", body, apiKey),
    query: (body, apiKey) => connectJson(baseUrl, "QueryLeadEvents", body, apiKey),
    filter: (body, apiKey) => connectJson(baseUrl, "FilterAudience", body, apiKey),
  };
}

export function grpcClient(baseUrl: string): LeadEventsClient {
  const client = createClient(LeadEventService, createGrpcTransport({ baseUrl, readMaxBytes: 32 * 1024 * 1024 }));
  const opts = (apiKey: string) => ({ headers: { authorization: `Bearer ${apiKey}` } });
  const wrap = async (fn: () => Promise<JsonObject>): Promise<Outcome> => {
    try {
      return { ok: true, body: await fn() };
    } catch (err) {
      const e = ConnectError.from(err);
      return { ok: false, code: CODE_NAMES[e.code] ?? String(e.code), http: undefined, message: e.rawMessage };
    }
  };
  return {
    name: "grpc",
    send: (body, apiKey) =>
      wrap(async () => toJson(SendLeadEventsResponseSchema, await client.sendLeadEvents(fromJson(SendLeadEventsRequestSchema, body as JsonObject), opts(apiKey)), { alwaysEmitImplicit: true }) as JsonObject),
    query: (body, apiKey) =>
      wrap(async () => toJson(QueryLeadEventsResponseSchema, await client.queryLeadEvents(fromJson(QueryLeadEventsRequestSchema, body as JsonObject), opts(apiKey)), { alwaysEmitImplicit: true }) as JsonObject),
    filter: (body, apiKey) =>
      wrap(async () => toJson(FilterAudienceResponseSchema, await client.filterAudience(fromJson(FilterAudienceRequestSchema, body as JsonObject), opts(apiKey)), { alwaysEmitImplicit: true }) as JsonObject),
  };
}

/** Every stored event of an organization, newest first, following page tokens. */
export async function queryAll(client: LeadEventsClient, organizationId: number, apiKey: string, extra: Record<string, unknown> = {}): Promise<any[]> {
  const events: any[] = [];
  let pageToken = "";
  for (;;) {
    const res = await client.query({ organizationId: String(organizationId), pageSize: 1000, pageToken, ...extra }, apiKey);
    if (!res.ok) throw new Error(`query failed: ${res.code} ${res.message}`);
    events.push(...(res.body.events ?? []));
    pageToken = res.body.nextPageToken ?? "";
    if (!pageToken) return events;
  }
}
