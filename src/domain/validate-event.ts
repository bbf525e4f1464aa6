// One event of a batch -> a row to store, or the single reason it is refused. The checks run in
// the order the contract fixes (phone, occurredAt, eventType, metadata); the first failure wins.

import { checkEventType } from "./event-type.js";
import { checkMetadata, checkMetadataJson } from "./metadata.js";
import { parseOccurredAt } from "./timestamp.js";
import type { EpochMicros, RawEvent, RejectCode, RowReject, ValidRow } from "./types.js";

/** What validation needs from the request: the organization's phone rules and the server clock. */
export interface ValidationContext {
  /** Usually createPhoneNormalizer(rules) for this request. */
  normalizePhone: (raw: unknown) => string | null;
  /** Server time, read once per call, so every row of a call is judged against the same clock. */
  nowMicros: EpochMicros;
}

export type EventResult = { ok: true; row: ValidRow } | { ok: false; reject: RowReject };

function reject(ev: RawEvent, index: number, code: RejectCode, reason: string): EventResult {
  // The phone is echoed exactly as sent so the caller can find the row in its own data.
  // A JSON number or boolean is echoed as its text; anything else (missing, object) as "".
  const raw = ev.phoneE164;
  const phoneE164 = typeof raw === "string" ? raw : typeof raw === "number" || typeof raw === "boolean" ? String(raw) : "";
  return { ok: false, reject: { index, phoneE164, code, reason } };
}

/**
 * Validates events[index]. `batchEventType` must already have passed checkBatchEventType
 * (an invalid batch-level type fails the whole call, so it never reaches here).
 * A per-event eventType overrides it; "" or null per event means "not given" (proto3 default).
 */
export function validateEvent(
  ev: RawEvent,
  index: number,
  batchEventType: string | undefined,
  ctx: ValidationContext,
): EventResult {
  const phone = ctx.normalizePhone(ev.phoneE164);
  if (phone === null) return reject(ev, index, "invalid_phone", "invalid phoneE164");

  const at = parseOccurredAt(ev.occurredAt, ctx.nowMicros);
  if (!at.ok) return reject(ev, index, at.code, at.reason);

  let eventType: string;
  const own = ev.eventType;
  if (own === undefined || own === null || own === "") {
    if (batchEventType === undefined) return reject(ev, index, "invalid_event_type", "invalid eventType: missing");
    eventType = batchEventType;
  } else {
    const checked = checkEventType(own);
    if (!checked.ok) return reject(ev, index, "invalid_event_type", `invalid eventType: ${checked.detail}`);
    eventType = checked.value;
  }

  const meta =
    ev.metadataJson === undefined || ev.metadataJson === ""
      ? checkMetadata(ev.metadata)
      : ev.metadata !== undefined && ev.metadata !== null
        ? ({ ok: false, code: "invalid_metadata", reason: "invalid metadata: send metadata or metadata_json, not both" } as const)
        : checkMetadataJson(ev.metadataJson);
  if (!meta.ok) return reject(ev, index, meta.code, meta.reason);

  return { ok: true, row: { index, phoneE164: phone, eventType, occurredAt: at.value, metadataJson: meta.value } };
}
