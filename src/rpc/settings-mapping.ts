// WebhookSettingsService messages <-> service values.
import { create } from "@bufbuild/protobuf";
import {
  ApiKeyScope,
  ApiKeySchema,
  AuthMode,
  SigningKeySchema,
  WebhookSettingsSchema,
  type ApiKey,
  type SigningKey,
  type WebhookSettings,
} from "../../gen/leadevents/v1/webhook_settings_service_pb.js";
import { invalidArgument } from "../domain/errors.js";
import type { ApiKeyScope as DomainScope } from "../domain/api-key.js";
import type { AuthMode as DomainAuthMode, OrganizationSettings } from "../db/organization-repository.js";
import type { SigningKeyRecord } from "../db/signing-key-repository.js";
import type { ApiKeyRecord } from "../db/api-key-repository.js";

const SCOPE_TO_PROTO: Record<DomainScope, ApiKeyScope> = { ingest: ApiKeyScope.INGEST, read: ApiKeyScope.READ, admin: ApiKeyScope.ADMIN };

export function authModeFromProto(mode: AuthMode): DomainAuthMode {
  if (mode === AuthMode.API_KEY) return "API_KEY";
  if (mode === AuthMode.HMAC) return "HMAC";
  throw invalidArgument("AUTH_MODE_INVALID", "auth_mode must be AUTH_MODE_API_KEY or AUTH_MODE_HMAC");
}

export function scopesFromProto(scopes: readonly ApiKeyScope[]): string[] {
  return scopes.map((s) => {
    const name = (Object.entries(SCOPE_TO_PROTO).find(([, v]) => v === s) ?? [])[0];
    if (!name) throw invalidArgument("SCOPES_INVALID", "scopes must be API_KEY_SCOPE_INGEST, API_KEY_SCOPE_READ or API_KEY_SCOPE_ADMIN");
    return name;
  });
}

export function settingsToProto(s: OrganizationSettings): WebhookSettings {
  return create(WebhookSettingsSchema, {
    organizationId: BigInt(s.id),
    authMode: s.authMode === "HMAC" ? AuthMode.HMAC : AuthMode.API_KEY,
    defaultRegion: s.defaultRegion ?? "",
    strictPhoneValidation: s.strictPhoneValidation,
    requireSignatureTimestamp: s.requireSignatureTimestamp,
  });
}

export function signingKeyToProto(k: SigningKeyRecord): SigningKey {
  return create(SigningKeySchema, { id: k.id, prefix: k.prefix, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt ?? "", revokedAt: k.revokedAt ?? "" });
}

export function apiKeyToProto(k: ApiKeyRecord): ApiKey {
  return create(ApiKeySchema, {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes.map((s) => SCOPE_TO_PROTO[s]),
    createdAt: k.createdAt,
    lastUsedAt: k.lastUsedAt ?? "",
    revokedAt: k.revokedAt ?? "",
  });
}
