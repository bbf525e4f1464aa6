// Protobuf messages <-> service inputs and results.
import { create, equals, fromJson } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import type { JsonValue } from "@bufbuild/protobuf";
import {
  DeleteLeadEventsResponseSchema,
  EventFilterSchema,
  FilterAudienceChunkedResponseSchema,
  FilterAudienceResponseSchema,
  FilterAudienceStreamResponseSchema,
  FilterMode,
  ListEventTypesResponseSchema,
  RejectCode,
  SendLeadEventsResponseSchema,
  StoredLeadEventSchema,
  type DeleteLeadEventsRequest,
  type DeleteLeadEventsResponse,
  type EventFilter,
  type FilterAudienceChunkedResponse,
  type FilterAudienceRequest,
  type FilterAudienceResponse,
  type FilterAudienceStreamRequest,
  type FilterAudienceStreamResponse,
  type ListEventTypesResponse,
  type SendLeadEventsRequest,
  type SendLeadEventsResponse,
  type StoredLeadEvent,
} from "../../gen/leadevents/v1/lead_event_service_pb.js";
import type { RawEvent, RejectCode as DomainRejectCode } from "../domain/types.js";
import { AppError } from "../domain/errors.js";
import { formatTimestamp } from "../domain/timestamp.js";
import { EMPTY_VALUE_DETAIL, UnrepresentableMetadata } from "../domain/metadata.js";
import type { RawEventFilter } from "../domain/audience.js";
import type { EventTypeSummary, StoredEvent } from "../db/lead-event-store.js";
import type { SendInput, SendResult } from "../service/send-lead-events.js";
import type { FilterInput, FilterPart, FilterResult, FilterStreamMessage, FilterStreamResult } from "../service/filter-audience.js";
import type { DeleteInput, DeleteResult } from "../service/delete-lead-events.js";
import { parseOrganizationId } from "../service/auth.js";

export const REJECT_CODES: Record<DomainRejectCode, RejectCode> = {
  invalid_phone: RejectCode.INVALID_PHONE,
  missing_occurred_at: RejectCode.MISSING_OCCURRED_AT,
  invalid_occurred_at: RejectCode.INVALID_OCCURRED_AT,
  invalid_event_type: RejectCode.INVALID_EVENT_TYPE,
  metadata_too_large: RejectCode.METADATA_TOO_LARGE,
  invalid_metadata: RejectCode.INVALID_METADATA,
  erased_phone: RejectCode.ERASED_PHONE,
};

/** The JSON name of each reject code, as Connect JSON prints the enum. */
export const REJECT_CODE_NAMES: Record<DomainRejectCode, string> = {
  invalid_phone: "REJECT_CODE_INVALID_PHONE",
  missing_occurred_at: "REJECT_CODE_MISSING_OCCURRED_AT",
  invalid_occurred_at: "REJECT_CODE_INVALID_OCCURRED_AT",
  invalid_event_type: "REJECT_CODE_INVALID_EVENT_TYPE",
  metadata_too_large: "REJECT_CODE_METADATA_TOO_LARGE",
  invalid_metadata: "REJECT_CODE_INVALID_METADATA",
  erased_phone: "REJECT_CODE_ERASED_PHONE",
};

export function sendInputFromProto(req: SendLeadEventsRequest): SendInput {
  const events: RawEvent[] = new Array(req.events.length);
  for (let i = 0; i < req.events.length; i++) {
    const e = req.events[i]!;
    events[i] = {
      phoneE164: e.phoneE164,
      occurredAt: e.occurredAt,
      eventType: e.eventType,
      metadata: e.metadata ? metadataToJson(e.metadata) : undefined,
      metadataJson: e.metadataJson,
    };
  }
  return {
    organizationId: parseOrganizationId(req.organizationId),
    eventType: req.eventType,
    events,
    validateOnly: req.validateOnly,
  };
}

/**
 * A binary Value as the plain value checkMetadata validates. NaN and Infinity are kept, so the
 * row is refused as when JSON sends 1e400 ("contains a number that is not finite"); a Value with
 * no kind has no JSON at all and makes the metadata unrepresentable. Either way only the row is
 * rejected, not the call.
 */
function metadataToJson(value: Value): unknown {
  try {
    return plainValue(value);
  } catch (err) {
    if (err !== NO_KIND) throw err;
    return new UnrepresentableMetadata(EMPTY_VALUE_DETAIL);
  }
}

const NO_KIND = new Error("google.protobuf.Value without a kind");

function plainValue(value: Value): unknown {
  const kind = value.kind;
  switch (kind.case) {
    case "nullValue":
      return null;
    case "numberValue":
    case "stringValue":
    case "boolValue":
      return kind.value;
    case "structValue": {
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(kind.value.fields)) out[key] = plainValue(v);
      return out;
    }
    case "listValue":
      return kind.value.values.map(plainValue);
    default:
      throw NO_KIND;
  }
}

export function sendResultToProto(r: SendResult): SendLeadEventsResponse {
  return create(SendLeadEventsResponseSchema, {
    status: r.status,
    received: r.received,
    inserted: r.inserted,
    duplicates: r.duplicates,
    rejected: r.rejected,
    rejects: r.rejects.map((x) => ({ index: x.index, phoneE164: x.phoneE164, code: REJECT_CODES[x.code], reason: x.reason })),
  });
}

/** The JSON body shared by the REST route and Connect JSON (field order as documented). */
export function sendResultToJson(r: SendResult): string {
  return JSON.stringify({
    status: r.status,
    received: r.received,
    inserted: r.inserted,
    duplicates: r.duplicates,
    rejected: r.rejected,
    rejects: r.rejects.map((x) => ({ index: x.index, phoneE164: x.phoneE164, code: REJECT_CODE_NAMES[x.code], reason: x.reason })),
  });
}

export function storedEventToProto(e: StoredEvent): StoredLeadEvent {
  return create(StoredLeadEventSchema, {
    phoneE164: e.phoneE164,
    eventType: e.eventType,
    occurredAt: formatTimestamp(e.occurredAt),
    receivedAt: formatTimestamp(e.receivedAt),
    metadata: e.metadataJson === null ? undefined : fromJson(ValueSchema, JSON.parse(e.metadataJson) as JsonValue),
  });
}

/** FILTER_MODE_UNSPECIFIED (or an unknown number) becomes undefined, which the service refuses. */
function eventFilterFromProto(f: EventFilter | undefined): RawEventFilter | undefined {
  if (f === undefined) return undefined;
  const mode = f.mode === FilterMode.INCLUDE ? "include" : f.mode === FilterMode.EXCLUDE ? "exclude" : undefined;
  return { mode, eventType: f.eventType, withinMinutes: f.withinMinutes };
}

export function filterInputFromProto(req: FilterAudienceRequest): FilterInput {
  return {
    organizationId: parseOrganizationId(req.organizationId),
    filter: eventFilterFromProto(req.filter),
    asOf: req.asOf,
    phones: req.phones,
    explain: req.explain,
  };
}

/** The fields FilterAudienceStreamRequest and FilterAudienceChunkedRequest share. */
type FilterStreamRequest = Pick<FilterAudienceStreamRequest, "organizationId" | "filter" | "asOf" | "phones">;

/**
 * A streamed audience: the first message as a whole, later ones for their phones. A later message
 * may repeat the first one's organization_id, filter and as_of, but not change them: a stream is
 * judged by one filter, and silently keeping the first after a client changed it would answer a
 * question it did not ask.
 */
export async function* filterStreamFromProto(requests: AsyncIterable<FilterStreamRequest>): AsyncGenerator<FilterStreamMessage> {
  let first: FilterStreamRequest | undefined;
  for await (const req of requests) {
    if (first === undefined) {
      first = req;
      yield { organizationId: parseOrganizationId(req.organizationId), filter: eventFilterFromProto(req.filter), asOf: req.asOf, phones: req.phones };
    } else {
      if (changesHeader(first, req)) {
        throw new AppError("invalid_argument", "STREAM_HEADER_CHANGED", "organization_id, filter and as_of are read from the stream's first message; a later message may only repeat them");
      }
      yield { organizationId: undefined, filter: undefined, asOf: "", phones: req.phones };
    }
  }
}

function changesHeader(first: FilterStreamRequest, later: FilterStreamRequest): boolean {
  if (later.organizationId !== 0n && later.organizationId !== first.organizationId) return true;
  if (later.asOf !== "" && later.asOf !== first.asOf) return true;
  return later.filter !== undefined && (first.filter === undefined || !equals(EventFilterSchema, later.filter, first.filter));
}

/** Counts are int32 on the wire; a count past its range (2^31 - 1) is reported as the maximum. */
function int32(n: number): number {
  return Math.min(n, 2_147_483_647);
}

export function filterResultToProto(r: FilterResult): FilterAudienceResponse {
  return create(FilterAudienceResponseSchema, {
    keptPhones: r.keptPhones,
    unparseablePhones: r.unparseablePhones,
    audienceCount: r.audienceCount,
    keptCount: r.keptCount,
    decisions: r.decisions.map((d) => ({
      phoneE164: d.phoneE164,
      kept: d.kept,
      matchedOccurredAt: d.matchedOccurredAt === null ? "" : formatTimestamp(d.matchedOccurredAt),
    })),
  });
}

export function filterStreamResultToProto(r: FilterStreamResult): FilterAudienceStreamResponse {
  return create(FilterAudienceStreamResponseSchema, {
    keptPhones: r.keptPhones,
    unparseablePhones: r.unparseablePhones,
    audienceCount: r.audienceCount,
    keptCount: r.keptCount,
  });
}

/** FilterAudienceChunked's answer: one response per part; the last one carries the summary. */
export async function* filterPartsToProto(parts: AsyncIterable<FilterPart>): AsyncGenerator<FilterAudienceChunkedResponse> {
  for await (const p of parts) {
    const t = p.tally;
    yield create(FilterAudienceChunkedResponseSchema, {
      keptPhones: p.keptPhones,
      unparseablePhones: p.unparseablePhones,
      decidedCount: int32(p.decidedCount),
      summary: t && { audienceCount: int32(t.audienceCount), keptCount: int32(t.keptCount), unparseableCount: int32(t.unparseableCount) },
    });
  }
}

export function eventTypesToProto(summaries: readonly EventTypeSummary[]): ListEventTypesResponse {
  return create(ListEventTypesResponseSchema, {
    eventTypes: summaries.map((t) => ({
      eventType: t.eventType,
      eventCount: int32(t.eventCount),
      distinctPhones: int32(t.distinctPhones),
      firstOccurredAt: formatTimestamp(t.firstOccurredAt),
      lastOccurredAt: formatTimestamp(t.lastOccurredAt),
    })),
  });
}

export function deleteInputFromProto(req: DeleteLeadEventsRequest): DeleteInput {
  return { organizationId: parseOrganizationId(req.organizationId), phoneE164: req.phoneE164, eventType: req.eventType };
}

export function deleteResultToProto(r: DeleteResult): DeleteLeadEventsResponse {
  return create(DeleteLeadEventsResponseSchema, { deletedCount: int32(r.deletedCount) });
}
