// The documented JSON body of a send (REST route and Connect JSON) -> SendInput. Accepts the
// proto field names too (organization_id, phone_e164...), as protobuf JSON parsers do.
import { AppError } from "../domain/errors.js";
import type { RawEvent } from "../domain/types.js";
import { UnrepresentableMetadata } from "../domain/metadata.js";
import { parseOrganizationId } from "../service/auth.js";
import type { SendInput } from "../service/send-lead-events.js";

type Json = Record<string, unknown>;

const pick = (o: Json, camel: string, snake: string): unknown => (o[camel] !== undefined ? o[camel] : o[snake]);

export function sendInputFromJson(body: unknown, validateOnlyParam: boolean): SendInput {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new AppError("invalid_argument", "BODY_INVALID", "the body must be a JSON object with organizationId, eventType and events");
  }
  const events = (body as Json).events;
  if (!Array.isArray(events)) throw new AppError("invalid_argument", "EVENTS_INVALID", "events must be an array of event objects");
  const raw: RawEvent[] = new Array(events.length);
  for (let i = 0; i < events.length; i++) raw[i] = rawEventFromJson(events[i]);
  return sendInputFromEnvelope(body as Json, raw, validateOnlyParam);
}

/** The members other than events (organizationId, eventType, validateOnly), with events given apart. */
export function sendInputFromEnvelope(envelope: Record<string, unknown>, events: SendInput["events"], validateOnlyParam: boolean): SendInput {
  const validateOnly = pick(envelope, "validateOnly", "validate_only");
  if (validateOnly !== undefined && typeof validateOnly !== "boolean") {
    throw new AppError("invalid_argument", "VALIDATE_ONLY_INVALID", "validateOnly must be true or false");
  }
  return {
    organizationId: parseOrganizationId(pick(envelope, "organizationId", "organization_id")),
    eventType: pick(envelope, "eventType", "event_type") ?? undefined,
    events,
    validateOnly: validateOnly === true || validateOnlyParam,
  };
}

/** One element of `events` -> RawEvent; a non-object becomes an empty event (rejected as a row). */
export function rawEventFromJson(e: unknown): RawEvent {
  if (typeof e !== "object" || e === null || Array.isArray(e)) return {};
  const ev = e as Json;
  const eventType = pick(ev, "eventType", "event_type");
  return {
    phoneE164: pick(ev, "phoneE164", "phone_e164"),
    occurredAt: pick(ev, "occurredAt", "occurred_at"),
    eventType: eventType === null ? undefined : eventType,
    metadata: ev.metadata,
    ...metadataJsonOf(pick(ev, "metadataJson", "metadata_json")),
  };
}

/** The optional metadataJson text; anything but a string rejects the row (not the call). */
function metadataJsonOf(raw: unknown): Pick<RawEvent, "metadata" | "metadataJson"> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === "string") return { metadataJson: raw };
  return { metadata: new UnrepresentableMetadata("metadataJson must be a string of JSON text") };
}

/** Only the organizationId of a body: which organization's signing keys to try. */
export function organizationIdOf(body: unknown): number | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  return parseOrganizationId(pick(body as Json, "organizationId", "organization_id"));
}
