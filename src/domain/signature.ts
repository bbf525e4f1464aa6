// HMAC-SHA256 webhook signatures: `X-Setter-Signature: sha256=<hex>` over the exact body bytes
// (or, with replay protection, over "<timestamp>." followed by the body).
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-setter-signature";
export const TIMESTAMP_HEADER = "x-setter-timestamp";
/** Replay protection tolerance, either way of the server clock. */
export const TIMESTAMP_TOLERANCE_SECONDS = 300;

const DIGEST_BYTES = 32;

export function signPayload(secret: string, payload: Uint8Array | string): string {
  return "sha256=" + createHmac("sha256", secret).update(payload).digest("hex");
}

/** The bytes a signature covers: the body, or "<timestamp>.<body>" with replay protection. */
export function signedPayload(body: Uint8Array, timestamp: string | undefined): Uint8Array {
  if (timestamp === undefined) return body;
  return Buffer.concat([Buffer.from(`${timestamp}.`, "utf8"), body]);
}

/**
 * The 32 digest bytes of a header value, or undefined when it is not `sha256=` + 64 hex digits.
 * Surrounding white space is ignored; hex may be upper- or lower-case.
 */
export function parseSignatureHeader(value: string | undefined): Buffer | undefined {
  if (value === undefined) return undefined;
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(value.trim());
  return m ? Buffer.from(m[1]!, "hex") : undefined;
}

/**
 * Index of the first secret whose signature of payload equals digest, or -1. Every secret is
 * tried (no early exit on a match) and compared in constant time on equal-length buffers.
 */
export function matchSignature(secrets: readonly string[], payload: Uint8Array, digest: Buffer): number {
  if (digest.length !== DIGEST_BYTES) return -1;
  let found = -1;
  for (let i = 0; i < secrets.length; i++) {
    const expected = createHmac("sha256", secrets[i]!).update(payload).digest();
    if (timingSafeEqual(expected, digest) && found < 0) found = i;
  }
  return found;
}

/** Checks X-Setter-Timestamp (unix seconds) against now; returns why it is refused, if it is. */
export function checkSignatureTimestamp(raw: string | undefined, nowSeconds: number): string | undefined {
  if (raw === undefined || raw.trim() === "") return "X-Setter-Timestamp is required by this organization";
  if (!/^\d{1,12}$/.test(raw.trim())) return "X-Setter-Timestamp must be unix seconds";
  const skew = Math.abs(Number(raw.trim()) - nowSeconds);
  if (skew > TIMESTAMP_TOLERANCE_SECONDS) return `X-Setter-Timestamp is more than ${TIMESTAMP_TOLERANCE_SECONDS / 60} minutes from the server's clock`;
  return undefined;
}

/** Signing secrets: "whsec_" + 32 random bytes, base64url. */
export function formatSigningSecret(random: Uint8Array): string {
  if (random.length < 32) throw new Error("a signing secret needs at least 32 random bytes");
  return "whsec_" + Buffer.from(random).toString("base64url");
}

export function signingSecretPrefix(secret: string): string {
  return secret.slice(0, 12);
}
