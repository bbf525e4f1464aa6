// WebhookSettingsService use cases: inbound auth mode, phone settings, signing and API keys.
// Every one needs the admin scope on the caller's own organization.
import { randomBytes } from "node:crypto";
import { AppError, invalidArgument } from "../domain/errors.js";
import { checkRegion } from "../domain/region.js";
import { formatSigningSecret, signingSecretPrefix } from "../domain/signature.js";
import { parseScopes, type ApiKeyScope } from "../domain/api-key.js";
import type { AuthMode, OrganizationSettings } from "../db/organization-repository.js";
import type { SigningKeyRecord } from "../db/signing-key-repository.js";
import type { ApiKeyRecord } from "../db/api-key-repository.js";
import { authorize, type Caller } from "./auth.js";
import { createApiKey } from "./api-keys.js";
import type { ServiceContext } from "./context.js";

const notFound = (what: string) => new AppError("not_found", "NOT_FOUND", `${what} not found`);

async function settingsOf(ctx: ServiceContext, organizationId: number): Promise<OrganizationSettings> {
  const org = await ctx.organizations.find(organizationId);
  if (!org) throw notFound("organization");
  return org;
}

export function getSettings(ctx: ServiceContext, caller: Caller, requested: number | undefined): Promise<OrganizationSettings> {
  return settingsOf(ctx, authorize(caller, "admin", requested));
}

export interface SettingsPatch {
  authMode?: AuthMode;
  defaultRegion?: string;
  strictPhoneValidation?: boolean;
  requireSignatureTimestamp?: boolean;
}

export async function updateSettings(ctx: ServiceContext, caller: Caller, requested: number | undefined, patch: SettingsPatch): Promise<OrganizationSettings> {
  const organizationId = authorize(caller, "admin", requested);
  let defaultRegion: string | null | undefined;
  if (patch.defaultRegion !== undefined) {
    if (patch.defaultRegion.trim() === "") defaultRegion = null;
    else {
      const region = checkRegion(patch.defaultRegion);
      if (!region.ok) throw invalidArgument("DEFAULT_REGION_INVALID", `default_region: ${region.detail}`);
      defaultRegion = region.value;
    }
  }
  const outcome = await ctx.organizations.update(organizationId, {
    authMode: patch.authMode,
    defaultRegion,
    strictPhoneValidation: patch.strictPhoneValidation,
    requireSignatureTimestamp: patch.requireSignatureTimestamp,
  });
  if (outcome.status === "not_found") throw notFound("organization");
  if (outcome.status === "no_active_signing_key") {
    throw new AppError("failed_precondition", "NO_ACTIVE_SIGNING_KEY", "create a signing key before switching to HMAC: without one nobody could send events");
  }
  return outcome.settings;
}

export async function createSigningKey(ctx: ServiceContext, caller: Caller, requested: number | undefined): Promise<{ key: SigningKeyRecord; secret: string }> {
  const organizationId = authorize(caller, "admin", requested);
  const secret = formatSigningSecret(randomBytes(32));
  const key = await ctx.signingKeys.create(organizationId, signingSecretPrefix(secret), ctx.secrets.seal(secret));
  return { key, secret };
}

export function listSigningKeys(ctx: ServiceContext, caller: Caller, requested: number | undefined): Promise<SigningKeyRecord[]> {
  return ctx.signingKeys.list(authorize(caller, "admin", requested));
}

export async function revokeSigningKey(ctx: ServiceContext, caller: Caller, requested: number | undefined, keyId: string): Promise<SigningKeyRecord> {
  const organizationId = authorize(caller, "admin", requested);
  const outcome = await ctx.signingKeys.revoke(organizationId, keyId);
  if (outcome.status === "not_found") throw notFound("signing key");
  if (outcome.status === "last_key_in_hmac_mode") {
    throw new AppError("failed_precondition", "LAST_SIGNING_KEY", "this is the last active signing key and the organization is in HMAC mode: create another key or switch to API_KEY first");
  }
  return outcome.key;
}

export async function createScopedApiKey(ctx: ServiceContext, caller: Caller, requested: number | undefined, name: string, scopes: readonly string[]): Promise<{ key: ApiKeyRecord; secret: string }> {
  const organizationId = authorize(caller, "admin", requested);
  const parsed = parseScopes(scopes);
  if (!parsed.ok) throw invalidArgument("SCOPES_INVALID", `scopes: ${parsed.detail}`);
  return createApiKey(ctx, organizationId, name.trim() || "api", parsed.scopes as ApiKeyScope[]);
}

export function listApiKeys(ctx: ServiceContext, caller: Caller, requested: number | undefined): Promise<ApiKeyRecord[]> {
  return ctx.apiKeys.list(authorize(caller, "admin", requested));
}

export async function revokeApiKey(ctx: ServiceContext, caller: Caller, requested: number | undefined, keyId: string): Promise<ApiKeyRecord> {
  const organizationId = authorize(caller, "admin", requested);
  const key = await ctx.apiKeys.revoke(organizationId, keyId);
  if (!key) throw notFound("API key");
  return key;
}
