// WebhookSettingsService: declared in full; methods not listed here answer UNIMPLEMENTED.
import type { ServiceImpl } from "@connectrpc/connect";
import type { WebhookSettingsService } from "../../gen/leadevents/v1/webhook_settings_service_pb.js";
import type { ServiceContext } from "../service/context.js";

export function webhookSettingsService(_svc: ServiceContext): Partial<ServiceImpl<typeof WebhookSettingsService>> {
  return {};
}
