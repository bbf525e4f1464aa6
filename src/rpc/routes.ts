// Every Connect service this server offers.
import type { ConnectRouter } from "@connectrpc/connect";
import { LeadEventService } from "../../gen/leadevents/v1/lead_event_service_pb.js";
import { WebhookSettingsService } from "../../gen/leadevents/v1/webhook_settings_service_pb.js";
import type { ServiceContext } from "../service/context.js";
import { leadEventService } from "./lead-event-service.js";
import { webhookSettingsService } from "./webhook-settings-service.js";

export function routes(svc: ServiceContext) {
  return (router: ConnectRouter) => {
    router.service(LeadEventService, leadEventService(svc));
    router.service(WebhookSettingsService, webhookSettingsService(svc));
  };
}
