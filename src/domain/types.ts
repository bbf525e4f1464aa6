// Shared domain vocabulary. Pure: no I/O, no transport, no database types.

/** Microseconds since the Unix epoch. A JS number is exact for these up to the year 2255. */
export type EpochMicros = number;

/** Why a single row of a batch was refused. Stable: transports map these to their own enums. */
export type RejectCode =
  | "invalid_phone"
  | "missing_occurred_at"
  | "invalid_occurred_at"
  | "invalid_event_type"
  | "metadata_too_large"
  | "invalid_metadata"
  | "erased_phone";

/** Per-organization phone parsing rules. */
export interface PhoneRules {
  /** ISO 3166-1 alpha-2 region used for national-format numbers, e.g. "US"; undefined = none. */
  defaultRegion?: string;
  /** Only numbers libphonenumber calls valid (not merely possible). */
  strict: boolean;
}

/** One event as it arrived, before validation. Fields are `unknown`: callers send anything. */
export interface RawEvent {
  phoneE164?: unknown;
  occurredAt?: unknown;
  eventType?: unknown;
  metadata?: unknown;
  /** Metadata as JSON text (binary callers' faster alternative to `metadata`); "" = absent. */
  metadataJson?: string;
}

/** A row that passed validation, ready to store. */
export interface ValidRow {
  /** Index of the row in the request's events[]. */
  index: number;
  phoneE164: string;
  eventType: string;
  occurredAt: EpochMicros;
  /** Compact JSON text of the metadata object, or null when absent. */
  metadataJson: string | null;
}

export interface RowReject {
  index: number;
  /** The phone exactly as sent ("" when it was not a string). */
  phoneE164: string;
  code: RejectCode;
  reason: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; code: RejectCode; reason: string };
