// Who is calling, and may they act on this organization? Messages say what is wrong without
// revealing secrets or whether another organization exists.
import { AppError, permissionDenied, unauthenticated } from "../domain/errors.js";
import { hashApiKey, isWellFormedApiKey, type ApiKeyScope } from "../domain/api-key.js";
import type { ApiKeyGrant } from "../db/api-key-repository.js";
import type { OrganizationSettings } from "../db/organization-repository.js";
import type { ServiceContext } from "./context.js";
import { checkSignatureTimestamp, matchSignature, parseSignatureHeader, signedPayload } from "../domain/signature.js";

export type Caller =
  | { kind: "api_key"; grant: ApiKeyGrant }
  /** Authenticated by an HMAC signature over the body, for the organization named in it. */
  | { kind: "signature"; organizationId: number; signingKeyId: string; organization: OrganizationSettings };

/** The caller's own organization's settings, loaded while authenticating. */
export function callerOrganization(caller: Caller): OrganizationSettings {
  return caller.kind === "api_key" ? caller.grant.organization : caller.organization;
}

export async function authenticateBearer(ctx: ServiceContext, authorization: string | null | undefined): Promise<Caller> {
  if (!authorization || !authorization.trim()) {
    throw unauthenticated("CREDENTIALS_MISSING", "missing credentials: send Authorization: Bearer <api key>");
  }
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match) throw unauthenticated("AUTHORIZATION_MALFORMED", "the Authorization header must be 'Bearer <api key>'");
  const key = match[1]!;
  if (!isWellFormedApiKey(key)) throw unauthenticated("API_KEY_MALFORMED", "the bearer token is not a well-formed leadevents API key (lek_...)");
  const grant = await ctx.apiKeys.findActiveByHash(hashApiKey(key));
  if (!grant) throw unauthenticated("API_KEY_UNKNOWN", "unknown or revoked API key");
  return { kind: "api_key", grant };
}

/**
 * The organization a call acts on: the one named in the request (or, when none is named, the
 * caller's own). Naming another organization is refused the same way whether it exists or not.
 */
export function authorize(caller: Caller, scope: ApiKeyScope, requested: number | undefined): number {
  const own = caller.kind === "api_key" ? caller.grant.organizationId : caller.organizationId;
  if (caller.kind === "api_key" && !caller.grant.scopes.has(scope)) {
    throw permissionDenied("SCOPE_MISSING", `this API key lacks the '${scope}' scope`);
  }
  if (caller.kind === "signature" && scope !== "ingest") {
    throw permissionDenied("SCOPE_MISSING", "a signature authorizes sending events only");
  }
  if (requested !== undefined && requested !== own) {
    throw permissionDenied("ORGANIZATION_MISMATCH", `these credentials cannot act on organization ${requested}`);
  }
  return own;
}

/** organizationId as sent: a positive integer, as a JSON number or a decimal string. */
export function parseOrganizationId(raw: unknown): number | undefined {
  if (raw === undefined || raw === null || raw === "" || raw === 0 || raw === 0n || raw === "0") return undefined;
  const text = typeof raw === "number" ? String(raw) : typeof raw === "string" ? raw.trim() : typeof raw === "bigint" ? raw.toString() : undefined;
  if (text !== undefined && /^[1-9][0-9]{0,15}$/.test(text)) {
    const n = Number(text);
    if (Number.isSafeInteger(n)) return n;
  }
  throw new AppError("invalid_argument", "ORGANIZATION_ID_INVALID", "organizationId must be a positive integer");
}

export interface SignedRequest {
  /** The X-Setter-Signature header value. */
  signature: string;
  /** The X-Setter-Timestamp header value, if sent. */
  timestamp: string | undefined;
  /** The exact bytes the caller signed (the body, or the serialized message for gRPC). */
  payload: Uint8Array;
  /** organizationId from the request: it only says whose keys to try. */
  organizationId: number | undefined;
}

/**
 * Authenticates a request by its HMAC signature with any active signing key of the
 * organization it names. Refusals do not say whether that organization exists.
 */
export async function authenticateSignature(ctx: ServiceContext, req: SignedRequest): Promise<Caller> {
  const digest = parseSignatureHeader(req.signature);
  if (!digest) throw unauthenticated("SIGNATURE_MALFORMED", "X-Setter-Signature must be 'sha256=' followed by 64 hex digits");
  if (req.organizationId === undefined) throw unauthenticated("ORGANIZATION_ID_REQUIRED", "a signed request must name its organizationId");
  const mismatch = () =>
    unauthenticated("SIGNATURE_INVALID", `the signature does not match an active signing key of organization ${req.organizationId}, or that organization does not accept signed requests`);
  const org = await ctx.organizations.find(req.organizationId);
  if (!org || org.authMode !== "HMAC") throw mismatch();
  let timestamp: string | undefined;
  if (org.requireSignatureTimestamp) {
    const problem = checkSignatureTimestamp(req.timestamp, Math.floor(ctx.clock.nowMicros() / 1_000_000));
    if (problem) throw unauthenticated("SIGNATURE_TIMESTAMP_INVALID", problem);
    timestamp = req.timestamp!.trim();
  }
  const keys = await ctx.signingKeys.activeSecrets(org.id);
  const secrets = keys.map((k) => ctx.secrets.open(k.secretCiphertext));
  const match = matchSignature(secrets, signedPayload(req.payload, timestamp), digest);
  if (match < 0) throw mismatch();
  const keyId = keys[match]!.id;
  ctx.signingKeys.markUsed(keyId).catch(() => undefined);
  return { kind: "signature", organizationId: org.id, signingKeyId: keyId, organization: org };
}
