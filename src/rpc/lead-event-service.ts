// LeadEventService over Connect, gRPC and gRPC-web.
import { create, toBinary } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { LeadEventService, QueryLeadEventsResponseSchema, SendLeadEventsRequestSchema } from "../../gen/leadevents/v1/lead_event_service_pb.js";
import type { ServiceContext } from "../service/context.js";
import { sendLeadEvents } from "../service/send-lead-events.js";
import { queryLeadEvents } from "../service/query-lead-events.js";
import { parseOrganizationId } from "../service/auth.js";
import { filterAudience, filterAudienceParts, filterAudienceStream } from "../service/filter-audience.js";
import { listEventTypes } from "../service/list-event-types.js";
import { deleteLeadEvents } from "../service/delete-lead-events.js";
import { withCaller } from "./call.js";
import { withCallerStreaming } from "./streaming-call.js";
import {
  deleteInputFromProto,
  deleteResultToProto,
  eventTypesToProto,
  filterInputFromProto,
  filterPartsToProto,
  filterResultToProto,
  filterStreamFromProto,
  filterStreamResultToProto,
  sendInputFromProto,
  sendResultToProto,
  storedEventToProto,
} from "./mapping.js";

export function leadEventService(svc: ServiceContext): Partial<ServiceImpl<typeof LeadEventService>> {
  return {
    sendLeadEvents: (req, ctx) =>
      withCaller(svc, ctx, async (caller) => sendResultToProto(await sendLeadEvents(svc, caller, sendInputFromProto(req))), {
        payload: () => toBinary(SendLeadEventsRequestSchema, req),
        organizationId: () => parseOrganizationId(req.organizationId),
      }),

    queryLeadEvents: (req, ctx) =>
      withCaller(svc, ctx, async (caller) => {
        const page = await queryLeadEvents(svc, caller, {
          organizationId: parseOrganizationId(req.organizationId),
          phoneE164: req.phoneE164,
          eventType: req.eventType,
          occurredAtFrom: req.occurredAtFrom,
          occurredAtTo: req.occurredAtTo,
          pageSize: req.pageSize,
          pageToken: req.pageToken,
        });
        return create(QueryLeadEventsResponseSchema, { events: page.events.map(storedEventToProto), nextPageToken: page.nextPageToken });
      }),

    filterAudience: (req, ctx) =>
      withCaller(svc, ctx, async (caller) => filterResultToProto(await filterAudience(svc, caller, filterInputFromProto(req)))),

    // Client streaming: the handler receives the messages as they arrive and answers once.
    filterAudienceStream: (requests, ctx) =>
      withCaller(svc, ctx, async (caller) => filterStreamResultToProto(await filterAudienceStream(svc, caller, filterStreamFromProto(requests)))),

    // Bidirectional: each part goes back as soon as it is decided, so the answer is never held.
    filterAudienceChunked: (requests, ctx) =>
      withCallerStreaming(svc, ctx, (caller) => filterPartsToProto(filterAudienceParts(svc, caller, filterStreamFromProto(requests)))),

    listEventTypes: (req, ctx) =>
      withCaller(svc, ctx, async (caller) => eventTypesToProto(await listEventTypes(svc, caller, { organizationId: parseOrganizationId(req.organizationId) }))),

    deleteLeadEvents: (req, ctx) =>
      withCaller(svc, ctx, async (caller) => deleteResultToProto(await deleteLeadEvents(svc, caller, deleteInputFromProto(req)))),
  };
}
