// SendLeadEvents, shared by every transport: parsed request in, counted response out.
import { AppError, invalidArgument, unauthenticated } from "../domain/errors.js";
import { BatchValidation, checkBatchEventType, MAX_EVENTS_PER_CALL, planBatch, type BatchPlan } from "../domain/batch.js";
import { createPhoneNormalizer } from "../domain/phone.js";
import { applyTombstones, distinctPhones } from "../domain/erasure.js";
import type { RawEvent, RowReject } from "../domain/types.js";
import { authorize, callerOrganization, type Caller } from "./auth.js";
import type { ServiceContext } from "./context.js";
import type { SqlClient } from "../db/database.js";
import { COPY_CHUNK_ROWS, SMALL_BATCH_ROWS } from "../db/lead-event-store.js";

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

  // authorize() made sure this is the caller's own organization, loaded with the credentials.
  const org = callerOrganization(caller);
  if (org.authMode === "HMAC" && caller.kind !== "signature") {
    throw unauthenticated("SIGNATURE_REQUIRED", "this organization accepts events signed with X-Setter-Signature only");
  }
  if (org.authMode === "API_KEY" && caller.kind === "signature") {
    throw unauthenticated("API_KEY_REQUIRED", "this organization accepts events with Authorization: Bearer <api key> only");
  }

  const validation = { normalizePhone: createPhoneNormalizer({ defaultRegion: org.defaultRegion, strict: org.strictPhoneValidation }), nowMicros: ctx.clock.nowMicros() };
  const planned = () => planBatch(input.events as RawEvent[], batchType.value, validation);
  // Most organizations never erase anything: the batch's phones are gathered only when this one has.
  const withTombstones = async (c: SqlClient, plan: BatchPlan) => {
    const tombstones = (await ctx.erasures.anyTombstone(c, organizationId)) ? await ctx.erasures.tombstonesFor(c, organizationId, distinctPhones(plan.rows)) : [];
    return applyTombstones(plan, tombstones, input.events);
  };

  let counts: { received: number; rejected: number; rejects: RowReject[]; inserted: number };
  if (input.validateOnly) {
    // The same checks in one read-only snapshot, so the tombstones and the stored rows are read
    // as of one instant; the rows a send would insert are those not stored yet.
    const plan = planned();
    counts = await ctx.db.transaction(
      async (c) => {
        const checked = await withTombstones(c, plan);
        return { ...checked, inserted: checked.rows.length - (await ctx.events.countExisting(c, organizationId, checked.rows)) };
      },
      { isolation: "repeatable read", readOnly: true },
    );
  } else {
    // The tombstone check and the insert in one transaction, behind the organization's erasure
    // lock (shared, taken with BEGIN): an erasure commits wholly before or wholly after this
    // call, never between its check and its insert (see src/db/erasure-store.ts). Still one
    // atomic commit.
    counts = await ctx.db.transaction(
      async (c) => {
        if (input.events.length > SMALL_BATCH_ROWS && !(await ctx.erasures.anyTombstone(c, organizationId))) {
          // The large batch of an organization without erasures: rows are validated chunk by
          // chunk while the previous chunk is being copied into the database, and repeats
          // within the call are left to the database (the first one wins there too).
          const streamed = new BatchValidation(input.events as RawEvent[], batchType.value, validation);
          const inserted = await ctx.events.insertChunks(c, organizationId, streamed.chunks(COPY_CHUNK_ROWS));
          return { received: streamed.received, rejected: streamed.rejected, rejects: streamed.rejects, inserted };
        }
        const checked = await withTombstones(c, planned());
        return { ...checked, inserted: await ctx.events.insertBatch(c, organizationId, checked.rows) };
      },
      {
        prelude: ctx.asyncCommit
          ? `${ctx.erasures.sendLockSql(organizationId)}; set local synchronous_commit = off`
          : ctx.erasures.sendLockSql(organizationId),
      },
    );
  }
  return {
    status: "accepted",
    received: counts.received,
    inserted: counts.inserted,
    duplicates: counts.received - counts.rejected - counts.inserted,
    rejected: counts.rejected,
    rejects: counts.rejects,
  };
}
