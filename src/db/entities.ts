// MikroORM entities: the schema's single source of truth (migrations are checked against them).
// defineEntity instead of decorators: vitest's esbuild does not emit decorator metadata.
import { defineEntity, p } from "@mikro-orm/core";

export const Organization = defineEntity({
  name: "Organization",
  tableName: "organization",
  properties: {
    id: p.bigint("number").primary().autoincrement(),
    name: p.text(),
    authMode: p.text().default("API_KEY"),
    defaultRegion: p.text().nullable(),
    strictPhoneValidation: p.boolean().default(false),
    requireSignatureTimestamp: p.boolean().default(false),
    createdAt: p.datetime(6).defaultRaw("now()"),
  },
});

export const ApiKey = defineEntity({
  name: "ApiKey",
  tableName: "api_key",
  properties: {
    id: p.uuid().primary(),
    organization: () => p.manyToOne(Organization).fieldName("organization_id").index(),
    name: p.text(),
    // The visible start of the key, safe to show and log.
    prefix: p.text(),
    // SHA-256 of the whole key (hex); the key itself is never stored.
    keyHash: p.text().unique(),
    scopes: p.array().columnType("text[]"),
    createdAt: p.datetime(6).defaultRaw("now()"),
    lastUsedAt: p.datetime(6).nullable(),
    revokedAt: p.datetime(6).nullable(),
  },
});

export const SigningKey = defineEntity({
  name: "SigningKey",
  tableName: "signing_key",
  properties: {
    id: p.uuid().primary(),
    organization: () => p.manyToOne(Organization).fieldName("organization_id").index(),
    prefix: p.text(),
    // AES-256-GCM ciphertext of the secret (iv | tag | data, base64): recoverable to verify,
    // unreadable in a dump without the server key.
    secretCiphertext: p.text(),
    createdAt: p.datetime(6).defaultRaw("now()"),
    lastUsedAt: p.datetime(6).nullable(),
    revokedAt: p.datetime(6).nullable(),
  },
});

// Rows are written and read with set-based SQL (see lead-event-store.ts); the entity declares
// the table and its key so that MikroORM owns the schema.
export const LeadEvent = defineEntity({
  name: "LeadEvent",
  tableName: "lead_event",
  properties: {
    // The idempotency key is the primary key: no surrogate id, no sequence to burn on
    // duplicates, and its index serves "this phone, this type, this time range".
    organizationId: p.bigint("number").primary(),
    phoneE164: p.text().primary(),
    eventType: p.text().primary(),
    occurredAt: p.datetime(6).primary(),
    // json, not jsonb: the service has already validated and compacted it, and jsonb's parse
    // into its binary tree was about a fifth of each 50,000-row write (measured); json only checks
    // the syntax and keeps the text, so it also comes back in the caller's key order.
    metadata: p.json().columnType("json").nullable(),
    receivedAt: p.datetime(6).defaultRaw("now()"),
  },
  // No secondary index. Each one costs every write an index entry per row: the (organization,
  // type, occurred_at) index that served newest-first pages without a phone was ~0.5x of a COPY
  // of the same rows at 1-2M stored rows (measured, test/bench/RESULTS.md). Those pages now read
  // the organization's primary-key range instead (see eventPageQuery); the send-time filter,
  // pages of one phone and re-send probes use the primary key as before.
});

export const Tombstone = defineEntity({
  name: "Tombstone",
  tableName: "erasure_tombstone",
  properties: {
    organizationId: p.bigint("number").primary(),
    phoneE164: p.text().primary(),
    // Empty string = every type.
    eventType: p.text().primary(),
    // Events of this phone (and type) that occurred at or before this instant stay erased.
    erasedBefore: p.datetime(6),
  },
});

export const entities = [Organization, ApiKey, SigningKey, LeadEvent, Tombstone];
