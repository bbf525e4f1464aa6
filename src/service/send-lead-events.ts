// SendLeadEvents, shared by every transport: parsed request in, counted response out.
import { AppError, invalidArgument, unauthenticated } from "../domain/errors.js";
import { BatchValidation, checkBatchEventType, chunksOf, firstOfEachKey, MAX_EVENTS_PER_CALL, planBatch, type BatchPlan, type EventStream } from "../domain/batch.js";
import { createPhoneNormalizer } from "../domain/phone.js";
import { applyTombstones, distinctPhones } from "../domain/erasure.js";
import type { RawEvent, RowReject, ValidRow } from "../domain/types.js";
import { authorize, callerOrganization, type Caller } from "./auth.js";
import type { ServiceContext } from "./context.js";
import type { SqlClient } from "../db/database.js";
import { COPY_CHUNK_ROWS, DirectCopyConflict, SMALL_BATCH_ROWS, STAGED_INSERT_SETTINGS } from "../db/lead-event-store.js";

export interface SendInput {
  organizationId: number | undefined;
  eventType: unknown;
  /**
   * The events: an array, or a stream that parses the request body a chunk at a time (the JSON
   * route), so that the first rows reach the database while later ones are still being read.
   * A stream throws AppError TOO_MANY_EVENTS past MAX_EVENTS_PER_CALL, and whatever its parser
   * throws for a malformed body; nothing of the call is stored then.
   */
  events: readonly RawEvent[] | EventStream;
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
  const stream = Array.isArray(input.events) ? undefined : (input.events as EventStream);
  // An array is checked whole up front; a stream as it is read (see takeHead below).
  let events: readonly RawEvent[] | undefined = stream ? undefined : (input.events as readonly RawEvent[]);
  if (events) checkEventCount(events.length);
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
  if (stream) {
    // A batch small enough for the one-statement path, or a call that needs every row at hand
    // (validate_only), is read whole and handled like an array.
    const head = takeHead(stream, SMALL_BATCH_ROWS + 1);
    if (head.complete) events = head.events;
    else if (input.validateOnly) events = readAll(stream);
    if (events) checkEventCount(events.length);
  }
  const allEvents = (): readonly RawEvent[] => (events ??= readAll(stream!));
  const planned = () => planBatch(allEvents(), batchType.value, validation);
  // Most organizations never erase anything: the batch's phones are gathered only when this one has.
  const withTombstones = async (c: SqlClient, plan: BatchPlan, hasTombstones: boolean) => {
    const tombstones = hasTombstones ? await ctx.erasures.tombstonesFor(c, organizationId, distinctPhones(plan.rows)) : [];
    return applyTombstones(plan, tombstones, allEvents());
  };

  if (input.validateOnly) {
    // The same checks in one read-only snapshot, so the tombstones and the stored rows are read
    // as of one instant; the rows a send would insert are those not stored yet.
    const plan = planned();
    const counts = await ctx.db.transaction(
      async (c) => {
        const checked = await withTombstones(c, plan, await ctx.erasures.anyTombstone(c, organizationId));
        return { ...checked, inserted: checked.rows.length - (await ctx.events.countExisting(c, organizationId, checked.rows)) };
      },
      { isolation: "repeatable read", readOnly: true, prelude: STAGED_INSERT_SETTINGS },
    );
    return result(counts);
  }

  // The tombstone check and the insert in one transaction, behind the organization's erasure
  // lock (shared, taken with BEGIN): an erasure commits wholly before or wholly after this call,
  // never between its check and its insert (see src/db/erasure-store.ts). One atomic commit.
  const send = (path: "direct" | "probed") =>
    ctx.db.transaction(
      async (c): Promise<Counts> => {
        const hasTombstones = await ctx.erasures.anyTombstone(c, organizationId);
        if ((events !== undefined && events.length <= SMALL_BATCH_ROWS) || hasTombstones) {
          const checked = await withTombstones(c, planned(), hasTombstones);
          return { ...checked, inserted: await ctx.events.insertBatch(c, organizationId, checked.rows) };
        }
        // A large batch of an organization without erasures: rows are validated chunk by chunk
        // while the database writes the previous chunk.
        const streamed = new BatchValidation(events ? chunksOf(events, COPY_CHUNK_ROWS, FIRST_CHUNK_ROWS) : stream!.chunks(COPY_CHUNK_ROWS, FIRST_CHUNK_ROWS), batchType.value, validation);
        const chunks = streamed.validChunks();
        const counted = (inserted: number): Counts => ({ received: streamed.received, rejected: streamed.rejected, rejects: streamed.rejects, inserted });
        // The probing path: its read-only probes may borrow a second connection, given back before
        // the insert (see unstoredOfChunks).
        const insertUnstored = async (rows: Iterable<ValidRow[]>) => {
          const fresh = await ctx.db.withSpareTransaction((spare) => ctx.events.unstoredOfChunks(c, organizationId, rows, spare), { readOnly: true, prelude: STAGED_INSERT_SETTINGS });
          return ctx.events.insertBatch(c, organizationId, fresh);
        };
        if (path === "probed") return counted(await insertUnstored(chunks));
        // New events are the usual case, and COPY straight into lead_event is the fastest write
        // (no staging table, no second pass). The first chunk tells which case this is: if any of
        // its keys is stored already (a re-send, an overlapping export), the probing path, which
        // skips stored keys cheaply, takes the whole batch.
        const first = chunks.next();
        const head = first.done ? [] : first.value;
        const all = prepend(head, chunks);
        if (head.length > 0 && (await ctx.events.unstoredRows(c, organizationId, head)).length < head.length) {
          return counted(await insertUnstored(all));
        }
        return counted(await ctx.events.copyNewRows(c, organizationId, firstOfEachKey(all)));
      },
      { prelude: `${ctx.erasures.sendLockSql(organizationId)}; ${STAGED_INSERT_SETTINGS}${ctx.asyncCommit ? "; set local synchronous_commit = off" : ""}` },
    );
  // Direct first; after a conflict, the probing path. A writer on the direct path (rows in
  // arrival order) gives way to one on the probing path (key order) after a short lock wait; a
  // deadlock that PostgreSQL's own check caught first, on whichever path (a first attempt whose
  // first chunk held a stored key probes too), is retried a few times. Once every writer of the
  // same keys is on the probing path, all take their row locks in key order and none can deadlock.
  for (let attempt = 1, path: "direct" | "probed" = "direct"; ; attempt++, path = "probed") {
    try {
      return result(await send(path));
    } catch (err) {
      const conflict = err instanceof DirectCopyConflict ? err.sqlState : (err as { code?: unknown }).code === "40P01" ? "40P01" : undefined;
      if (conflict === undefined || attempt >= MAX_SEND_ATTEMPTS) throw err;
      ctx.log.info("send: direct copy conflict, retrying on the probing path", { sqlState: conflict, attempt });
    }
  }
}

/**
 * The first chunk of a large batch is small: it is validated and its keys probed before the COPY
 * can start, so the database begins writing after ~250 rows rather than 2,000.
 */
const FIRST_CHUNK_ROWS = 250;

/** The direct attempt and up to three on the probing path. */
const MAX_SEND_ATTEMPTS = 4;

function checkEventCount(n: number): void {
  if (n > MAX_EVENTS_PER_CALL) throw tooManyEvents(n.toLocaleString("en-US"));
  if (n === 0) throw invalidArgument("EVENTS_EMPTY", "events must hold at least one event");
}

export function tooManyEvents(got: string): AppError {
  return new AppError("resource_exhausted", "TOO_MANY_EVENTS", `too many events: at most ${MAX_EVENTS_PER_CALL.toLocaleString("en-US")} per call, got ${got}`);
}

/** The first `n` events of a stream, and whether the stream ended within them. */
function takeHead(stream: EventStream, n: number): { events: RawEvent[]; complete: boolean } {
  const it = stream.chunks(n);
  const first = it.next();
  if (first.done) return { events: [], complete: true };
  const complete = it.next().done === true;
  it.return(undefined);
  return { events: first.value, complete };
}

function readAll(stream: EventStream): RawEvent[] {
  const all: RawEvent[] = [];
  for (const chunk of stream.chunks(COPY_CHUNK_ROWS)) all.push(...chunk);
  return all;
}

interface Counts {
  received: number;
  rejected: number;
  rejects: RowReject[];
  inserted: number;
}

function result(counts: Counts): SendResult {
  return {
    status: "accepted",
    received: counts.received,
    inserted: counts.inserted,
    duplicates: counts.received - counts.rejected - counts.inserted,
    rejected: counts.rejected,
    rejects: counts.rejects,
  };
}

function* prepend<T>(head: T[], rest: Iterator<T[]>): Generator<T[]> {
  if (head.length > 0) yield head;
  for (let next = rest.next(); !next.done; next = rest.next()) yield next.value;
}
