// SendLeadEvents, shared by every transport: parsed request in, counted response out.
import { AppError, invalidArgument, unauthenticated } from "../domain/errors.js";
import { checkBatchEventType, MAX_EVENTS_PER_CALL, planBatch } from "../domain/batch.js";
import { createPhoneNormalizer } from "../domain/phone.js";
import type { RawEvent, RowReject } from "../domain/types.js";
import { authorize, type Caller } from "./auth.js";
import type { ServiceContext } from "./context.js";

export interface SendInput {
  organizationId: number | undefined;
  eventType: unknown;
  events: readonly RawEvent[];
  validateOnly: boolean;
}

export interface SendResult {
  status: "accepted";
  received: number;
  inserted: number;
  duplicates: number;
  rejected: number;
  rejects: RowReject[];
}

export async function sendLeadEvents(ctx: ServiceContext, caller: Caller, input: SendInput): Promise<SendResult> {
  const organizationId = authorize(caller, "ingest", input.organizationId);
  if (input.events.length > MAX_EVENTS_PER_CALL) {
    throw new AppError("resource_exhausted", "TOO_MANY_EVENTS", `too many events: at most ${MAX_EVENTS_PER_CALL.toLocaleString("en-US")} per call, got ${input.events.length.toLocaleString("en-US")}`);
  }
  if (input.events.length === 0) throw invalidArgument("EVENTS_EMPTY", "events must hold at least one event");
  const batchType = checkBatchEventType(input.eventType);
  if (!batchType.ok) throw invalidArgument("EVENT_TYPE_INVALID", `invalid eventType: ${batchType.detail}`);

  const org = await ctx.organizations.find(organizationId);
  if (!org) throw unauthenticated("API_KEY_UNKNOWN", "unknown or revoked API key");
  if (org.authMode === "HMAC" && caller.kind !== "signature") {
    throw unauthenticated("SIGNATURE_REQUIRED", "this organization accepts events signed with X-Setter-Signature only");
  }
  if (org.authMode === "API_KEY" && caller.kind === "signature") {
    throw unauthenticated("API_KEY_REQUIRED", "this organization accepts events with Authorization: Bearer <api key> only");
  }

  const plan = planBatch(input.events as RawEvent[], batchType.value, {
    normalizePhone: createPhoneNormalizer({ defaultRegion: org.defaultRegion, strict: org.strictPhoneValidation }),
    nowMicros: ctx.clock.nowMicros(),
  });
  const inserted = await ctx.db.withClient((c) => ctx.events.insertBatch(c, organizationId, plan.rows));
  return {
    status: "accepted",
    received: plan.received,
    inserted,
    duplicates: plan.received - plan.rejected - inserted,
    rejected: plan.rejected,
    rejects: plan.rejects,
  };
}
