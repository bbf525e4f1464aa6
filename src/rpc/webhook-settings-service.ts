// WebhookSettingsService over Connect, gRPC and gRPC-web (admin scope for every method).
import type { ServiceImpl } from "@connectrpc/connect";
import type { WebhookSettingsService } from "../../gen/leadevents/v1/webhook_settings_service_pb.js";
import type { ServiceContext } from "../service/context.js";
import { parseOrganizationId } from "../service/auth.js";
import * as settings from "../service/webhook-settings.js";
import { withCaller } from "./call.js";
import { apiKeyToProto, authModeFromProto, scopesFromProto, settingsToProto, signingKeyToProto } from "./settings-mapping.js";

export function webhookSettingsService(svc: ServiceContext): ServiceImpl<typeof WebhookSettingsService> {
  const org = (req: { organizationId: bigint }) => parseOrganizationId(req.organizationId);
  return {
    getWebhookSettings: (req, ctx) =>
      withCaller(svc, ctx, async (caller) => ({ settings: settingsToProto(await settings.getSettings(svc, caller, org(req))) })),

    updateWebhookSettings: (req, ctx) =>
      withCaller(svc, ctx, async (caller) => ({
        settings: settingsToProto(
          await settings.updateSettings(svc, caller, org(req), {
            authMode: req.authMode === undefined ? undefined : authModeFromProto(req.authMode),
            defaultRegion: req.defaultRegion,
            strictPhoneValidation: req.strictPhoneValidation,
            requireSignatureTimestamp: req.requireSignatureTimestamp,
          }),
        ),
      })),

    createSigningKey: (req, ctx) =>
      withCaller(svc, ctx, async (caller) => {
        const { key, secret } = await settings.createSigningKey(svc, caller, org(req));
        return { key: signingKeyToProto(key), secret };
      }),

    listSigningKeys: (req, ctx) =>
      withCaller(svc, ctx, async (caller) => ({ keys: (await settings.listSigningKeys(svc, caller, org(req))).map(signingKeyToProto) })),

    revokeSigningKey: (req, ctx) =>
      withCaller(svc, ctx, async (caller) => ({ key: signingKeyToProto(await settings.revokeSigningKey(svc, caller, org(req), req.keyId)) })),

    createApiKey: (req, ctx) =>
      withCaller(svc, ctx, async (caller) => {
        const { key, secret } = await settings.createScopedApiKey(svc, caller, org(req), req.name, scopesFromProto(req.scopes));
        return { key: apiKeyToProto(key), secret };
      }),

    listApiKeys: (req, ctx) =>
      withCaller(svc, ctx, async (caller) => ({ keys: (await settings.listApiKeys(svc, caller, org(req))).map(apiKeyToProto) })),

    revokeApiKey: (req, ctx) =>
      withCaller(svc, ctx, async (caller) => ({ key: apiKeyToProto(await settings.revokeApiKey(svc, caller, org(req), req.keyId)) })),
  };
}
