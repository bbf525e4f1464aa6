// LeadEventService over Connect, gRPC and gRPC-web.
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { LeadEventService, QueryLeadEventsResponseSchema } from "../../gen/leadevents/v1/lead_event_service_pb.js";
import type { ServiceContext } from "../service/context.js";
import { sendLeadEvents } from "../service/send-lead-events.js";
import { queryLeadEvents } from "../service/query-lead-events.js";
import { parseOrganizationId } from "../service/auth.js";
import { withCaller } from "./call.js";
import { sendInputFromProto, sendResultToProto, storedEventToProto } from "./mapping.js";

export function leadEventService(svc: ServiceContext): Partial<ServiceImpl<typeof LeadEventService>> {
  return {
    sendLeadEvents: (req, ctx) =>
      withCaller(svc, ctx, async (caller) => sendResultToProto(await sendLeadEvents(svc, caller, sendInputFromProto(req)))),

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
  };
}
