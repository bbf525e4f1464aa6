// Creating API keys: the key is generated here, returned once, and stored only as a hash.
import { randomBytes } from "node:crypto";
import { apiKeyDisplayPrefix, formatApiKey, hashApiKey, type ApiKeyScope } from "../domain/api-key.js";
import type { ApiKeyRecord } from "../db/api-key-repository.js";
import type { ServiceContext } from "./context.js";

export async function createApiKey(ctx: ServiceContext, organizationId: number, name: string, scopes: ApiKeyScope[]): Promise<{ key: ApiKeyRecord; secret: string }> {
  const secret = formatApiKey(randomBytes(32));
  const key = await ctx.apiKeys.create({ organizationId, name, prefix: apiKeyDisplayPrefix(secret), keyHash: hashApiKey(secret), scopes });
  return { key, secret };
}
