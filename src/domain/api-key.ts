// API key format: "lek_" + 43 base62 characters (256 random bits) + 6 base62 characters of
// CRC32 over the random part. The fixed prefix and checksum let secret scanners and our own
// auth recognize a key (or a typo) offline, before any database lookup.
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";

export const API_KEY_PREFIX = "lek_";
const BODY_LENGTH = 43;
const CHECKSUM_LENGTH = 6;
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export type ApiKeyScope = "ingest" | "read" | "admin";
export const API_KEY_SCOPES: readonly ApiKeyScope[] = ["ingest", "read", "admin"];

function base62(value: bigint, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) {
    out = ALPHABET[Number(value % 62n)] + out;
    value /= 62n;
  }
  return out;
}

function checksum(body: string): string {
  return base62(BigInt(crc32(body)), CHECKSUM_LENGTH);
}

/** Builds a key from 32 random bytes. */
export function formatApiKey(random: Uint8Array): string {
  if (random.length !== 32) throw new Error("an API key needs 32 random bytes");
  const body = base62(BigInt("0x" + Buffer.from(random).toString("hex")), BODY_LENGTH);
  return API_KEY_PREFIX + body + checksum(body);
}

/** True when the text has the key format and its checksum matches. */
export function isWellFormedApiKey(key: string): boolean {
  if (key.length !== API_KEY_PREFIX.length + BODY_LENGTH + CHECKSUM_LENGTH || !key.startsWith(API_KEY_PREFIX)) return false;
  const body = key.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + BODY_LENGTH);
  if (!/^[0-9A-Za-z]+$/.test(body)) return false;
  return checksum(body) === key.slice(-CHECKSUM_LENGTH);
}

/** The part of a key that is safe to show in lists and logs. */
export function apiKeyDisplayPrefix(key: string): string {
  return key.slice(0, API_KEY_PREFIX.length + 8);
}

/** Keys are stored only as this hash; 256 random bits need no slow hash. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

export function parseScopes(list: readonly string[]): { ok: true; scopes: ApiKeyScope[] } | { ok: false; detail: string } {
  const scopes = new Set<ApiKeyScope>();
  for (const raw of list) {
    const s = raw.trim().toLowerCase();
    if (!API_KEY_SCOPES.includes(s as ApiKeyScope)) return { ok: false, detail: `unknown scope ${JSON.stringify(raw)}; use ${API_KEY_SCOPES.join(", ")}` };
    scopes.add(s as ApiKeyScope);
  }
  if (scopes.size === 0) return { ok: false, detail: "at least one scope is required" };
  return { ok: true, scopes: API_KEY_SCOPES.filter((s) => scopes.has(s)) };
}
