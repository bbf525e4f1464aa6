// QueryLeadEvents: one organization's events, newest first, keyset-paged.
import { invalidArgument } from "../domain/errors.js";
import { normalizePhone } from "../domain/phone.js";
import { parseRfc3339 } from "../domain/timestamp.js";
import { checkEventType } from "../domain/event-type.js";
import type { EpochMicros } from "../domain/types.js";
import type { StoredEvent } from "../db/lead-event-store.js";
import { authorize, callerOrganization, type Caller } from "./auth.js";
import type { ServiceContext } from "./context.js";
import { decodePageToken, encodePageToken, fingerprint } from "./page-token.js";

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

export interface QueryInput {
  organizationId: number | undefined;
  phoneE164: string;
  eventType: string;
  occurredAtFrom: string;
  occurredAtTo: string;
  pageSize: number;
  pageToken: string;
}

export interface QueryResult {
  events: StoredEvent[];
  nextPageToken: string;
}

export async function queryLeadEvents(ctx: ServiceContext, caller: Caller, input: QueryInput): Promise<QueryResult> {
  const organizationId = authorize(caller, "read", input.organizationId);
  if (!Number.isInteger(input.pageSize) || input.pageSize < 0) throw invalidArgument("PAGE_SIZE_INVALID", "page_size must not be negative");
  // AIP-158: zero means the default, more than the maximum is coerced to it.
  const limit = input.pageSize === 0 ? DEFAULT_PAGE_SIZE : Math.min(input.pageSize, MAX_PAGE_SIZE);

  let phone: string | undefined;
  if (input.phoneE164 !== "") {
    phone = normalizePhone(input.phoneE164, { defaultRegion: callerOrganization(caller).defaultRegion, strict: false }) ?? undefined;
    if (!phone) throw invalidArgument("PHONE_INVALID", "phone_e164 is not a phone number this service can parse");
  }
  const from = optionalTime(input.occurredAtFrom, "occurred_at_from");
  const to = optionalTime(input.occurredAtTo, "occurred_at_to");
  let eventType: string | undefined;
  if (input.eventType !== "") {
    const checked = checkEventType(input.eventType);
    // No stored row can have such a type; say so rather than answer an empty page.
    if (!checked.ok) throw invalidArgument("EVENT_TYPE_INVALID", `event_type: ${checked.detail}`);
    eventType = checked.value;
  }
  const filters = fingerprint([organizationId, phone, eventType, from, to]);
  const after = input.pageToken ? decodePageToken(input.pageToken, filters) : undefined;

  const rows = await ctx.db.withClient((c) =>
    ctx.events.findPage(c, { organizationId, phoneE164: phone, eventType, occurredFrom: from, occurredTo: to, after, limit: limit + 1 }),
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    events: page,
    nextPageToken: rows.length > limit && last ? encodePageToken(last, filters) : "",
  };
}

function optionalTime(raw: string, field: string): EpochMicros | undefined {
  if (raw === "") return undefined;
  const parsed = parseRfc3339(raw);
  if (!parsed.ok) throw invalidArgument("TIME_INVALID", `${field} is not an RFC 3339 timestamp with an offset: ${parsed.detail}`);
  return parsed.micros;
}
