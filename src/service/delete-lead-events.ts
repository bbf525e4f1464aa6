// DeleteLeadEvents: erase one phone's events (of one type, or all) for the organization, and
// leave a tombstone so that a replay of old data cannot restore them (see db/erasure-store.ts).
import { invalidArgument } from "../domain/errors.js";
import { checkEventType } from "../domain/event-type.js";
import { normalizePhone } from "../domain/phone.js";
import { maskPhone } from "../logger.js";
import { authorize, callerOrganization, type Caller } from "./auth.js";
import type { ServiceContext } from "./context.js";

export interface DeleteInput {
  organizationId: number | undefined;
  phoneE164: string;
  /** "" = every type. */
  eventType: string;
}

export interface DeleteResult {
  deletedCount: number;
}

export async function deleteLeadEvents(ctx: ServiceContext, caller: Caller, input: DeleteInput): Promise<DeleteResult> {
  const organizationId = authorize(caller, "admin", input.organizationId);
  if (input.phoneE164 === "") throw invalidArgument("PHONE_MISSING", "phone_e164 is required");
  if (input.eventType !== "") {
    const type = checkEventType(input.eventType);
    if (!type.ok) throw invalidArgument("EVENT_TYPE_INVALID", `event_type is invalid: ${type.detail}`);
  }
  const org = callerOrganization(caller);
  // Not strict, whatever the organization's setting: a number stored before strict mode was
  // switched on must still be erasable (QueryLeadEvents reads phones the same way).
  const phone = normalizePhone(input.phoneE164, { defaultRegion: org.defaultRegion, strict: false });
  if (!phone) throw invalidArgument("PHONE_INVALID", "phone_e164 is not a phone number this service can parse");

  const result = await ctx.db.transaction((c) => ctx.erasures.erasePhone(c, organizationId, phone, input.eventType));
  ctx.log.info("lead events erased", { organizationId, phone: maskPhone(phone), ...(input.eventType === "" ? { allTypes: true } : { eventType: input.eventType }), deleted: result.deleted });
  return { deletedCount: result.deleted };
}
