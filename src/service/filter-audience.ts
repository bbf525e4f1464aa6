// FilterAudience, FilterAudienceStream and FilterAudienceChunked: of an audience, who had an
// event (within a window)? The rules live in domain/audience.ts; the lookup is
// LeadEventStore.phonesWithEvent.
import { AppError, invalidArgument } from "../domain/errors.js";
import {
  checkEventFilter,
  comparePhones,
  filterWindow,
  keeps,
  MAX_AUDIENCE_PER_CALL,
  MAX_AUDIENCE_PER_STREAM,
  MAX_STREAM_UNPARSEABLE,
  parseAudience,
  resolveAsOf,
  type EventFilterSpec,
  type FilterWindow,
  type RawEventFilter,
} from "../domain/audience.js";
import { createPhoneNormalizer } from "../domain/phone.js";
import { PhoneSet } from "../domain/phone-set.js";
import type { EpochMicros } from "../domain/types.js";
import type { SqlClient } from "../db/database.js";
import { authorize, callerOrganization, type Caller } from "./auth.js";
import type { ServiceContext } from "./context.js";
import { pipelined } from "./pipelined.js";

/** Phones per SQL round trip: one array parameter of at most ~1 MB, a few hundred ms of probes. */
export const LOOKUP_CHUNK = 50_000;

export interface FilterInput {
  organizationId: number | undefined;
  filter: RawEventFilter | undefined;
  /** RFC 3339, or "" for now. */
  asOf: string;
  phones: readonly string[];
  explain: boolean;
}

export interface PhoneDecision {
  phoneE164: string;
  kept: boolean;
  /** The newest matching occurred_at, or null when no event matched. */
  matchedOccurredAt: EpochMicros | null;
}

export interface FilterResult {
  /** Normalized, distinct, sorted. */
  keptPhones: string[];
  /** As sent, in input order. */
  unparseablePhones: string[];
  audienceCount: number;
  keptCount: number;
  /** With explain: one per distinct parseable phone, sorted by phone; otherwise empty. */
  decisions: PhoneDecision[];
}

/** One message of a streamed audience; only the first one's organizationId, filter and asOf count. */
export interface FilterStreamMessage {
  organizationId: number | undefined;
  filter: RawEventFilter | undefined;
  asOf: string;
  phones: readonly string[];
}

export interface FilterStreamResult {
  keptPhones: string[];
  /** At most MAX_STREAM_UNPARSEABLE, as sent, in input order. */
  unparseablePhones: string[];
  audienceCount: number;
  keptCount: number;
}

/** The answer for the next part of a streamed audience (one message, or LOOKUP_CHUNK entries of one). */
export interface FilterPart {
  /** Kept phones not seen earlier in the stream: normalized, sorted within the part. */
  keptPhones: string[];
  /** This part's unparseable entries, as sent, in input order (all of them). */
  unparseablePhones: string[];
  /** Audience entries decided by this part and the earlier ones. */
  decidedCount: number;
  /** Set on the last part only (which decides nothing new): the whole stream's counts. */
  tally?: FilterTally;
}

/** The counts of a whole streamed audience, once the client has closed its side. */
export interface FilterTally {
  audienceCount: number;
  /** Distinct kept phones: the sum of the parts' keptPhones. */
  keptCount: number;
  unparseableCount: number;
}

interface PreparedFilter {
  organizationId: number;
  filter: EventFilterSpec;
  window: FilterWindow;
  /** A fresh normalizer: its cache lives as long as the caller keeps it (one call, or one part of a stream). */
  normalizer: () => (raw: unknown) => string | null;
}

function tooMany(cap: number, got: string, hint: string): AppError {
  return new AppError("resource_exhausted", "TOO_MANY_PHONES", `too many phones: at most ${cap.toLocaleString("en-US")} ${hint}, got ${got}`);
}

/** Everything checked before the audience is read: the filter, asOf and the organization's phone rules. */
function prepare(ctx: ServiceContext, caller: Caller, organizationId: number, rawFilter: RawEventFilter | undefined, rawAsOf: string): PreparedFilter {
  const filter = checkEventFilter(rawFilter);
  if (!filter.ok) throw invalidArgument(filter.reason, filter.message);
  const asOf = resolveAsOf(rawAsOf, ctx.clock.nowMicros());
  if (!asOf.ok) throw invalidArgument(asOf.reason, asOf.message);
  const org = callerOrganization(caller);
  // The organization's own rules, so the audience is read exactly as its events were.
  const rules = { defaultRegion: org.defaultRegion, strict: org.strictPhoneValidation };
  return {
    organizationId,
    filter: filter.value,
    window: filterWindow(asOf.value, filter.value.withinMinutes),
    normalizer: () => createPhoneNormalizer(rules),
  };
}

/** The matches of sorted distinct phones, LOOKUP_CHUNK phones per query. */
async function lookUp(ctx: ServiceContext, client: SqlClient, f: PreparedFilter, phones: readonly string[], into: Map<string, EpochMicros>): Promise<void> {
  for (let i = 0; i < phones.length; i += LOOKUP_CHUNK) {
    const chunk = phones.slice(i, i + LOOKUP_CHUNK);
    const matched = await ctx.events.phonesWithEvent(client, { organizationId: f.organizationId, phones: chunk, eventType: f.filter.eventType, window: f.window });
    for (const [phone, at] of matched) into.set(phone, at);
  }
}

export async function filterAudience(ctx: ServiceContext, caller: Caller, input: FilterInput): Promise<FilterResult> {
  const organizationId = authorize(caller, "read", input.organizationId);
  if (input.phones.length > MAX_AUDIENCE_PER_CALL) {
    throw tooMany(MAX_AUDIENCE_PER_CALL, input.phones.length.toLocaleString("en-US"), "per call; stream larger audiences with FilterAudienceChunked");
  }
  const f = prepare(ctx, caller, organizationId, input.filter, input.asOf);
  const audience = parseAudience(input.phones, f.normalizer());
  const phones = audience.phones.sort(comparePhones);
  const matched = new Map<string, EpochMicros>();
  if (phones.length > 0) {
    // One read-only snapshot, so an audience split into several queries is judged on one state.
    await ctx.db.transaction((c) => lookUp(ctx, c, f, phones, matched), { isolation: "repeatable read", readOnly: true });
  }
  const keptPhones: string[] = [];
  const decisions: PhoneDecision[] = [];
  for (const phone of phones) {
    const at = matched.get(phone);
    const kept = keeps(f.filter.mode, at !== undefined);
    if (kept) keptPhones.push(phone);
    if (input.explain) decisions.push({ phoneE164: phone, kept, matchedOccurredAt: at ?? null });
  }
  return { keptPhones, unparseablePhones: audience.unparseable, audienceCount: audience.count, keptCount: keptPhones.length, decisions };
}

/**
 * The streamed forms' core: reads the audience message by message and yields the answer for each
 * as soon as it is decided (one part per message, or per LOOKUP_CHUNK entries of a larger one; an
 * empty message gets an empty part, so a client that waits for each answer never waits forever),
 * then a last part with the tally once the client has closed its side. The next message is read
 * and normalized while the current one's query runs (pipelined), and nothing more is read while
 * the consumer has not taken the last answer, so transport flow control slows down a client that
 * sends faster, or reads slower, than the answers are decided.
 *
 * Memory does not grow with the answer: a message is normalized, looked up and let go. What
 * stays for the whole stream is the set of phones seen so far (PhoneSet, ~16 bytes a phone), so
 * each distinct phone is decided once, where it first appears, and a repeat is only counted.
 * Each part is its own query: a stream may last minutes, too long to hold a pooled connection in
 * one snapshot.
 */
export async function* filterAudienceParts(ctx: ServiceContext, caller: Caller, messages: AsyncIterable<FilterStreamMessage>): AsyncGenerator<FilterPart> {
  const iterator = messages[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw invalidArgument("FILTER_MISSING", "the stream's first message must carry the filter (and organization_id, as_of)");
  const organizationId = authorize(caller, "read", first.value.organizationId);
  const f = prepare(ctx, caller, organizationId, first.value.filter, first.value.asOf);
  const tally: FilterTally = { audienceCount: 0, keptCount: 0, unparseableCount: 0 };
  const slices = sliceAudience(first.value, iterator, f, tally);
  for await (const part of pipelined(slices, (slice) => decide(ctx, f, slice))) {
    tally.keptCount += part.keptPhones.length;
    yield part;
  }
  yield { keptPhones: [], unparseablePhones: [], decidedCount: tally.audienceCount, tally: { ...tally } };
}

/** Up to LOOKUP_CHUNK entries of one message, normalized: what one query decides. */
interface AudienceSlice {
  /** Phones appearing for the first time in the stream, sorted. */
  fresh: string[];
  unparseable: string[];
  decidedCount: number;
}

/**
 * The messages as slices, counting entries into the tally as they are read. The normalizer's
 * cache lives for one slice: across a stream of distinct phones it would only hold on to strings.
 */
async function* sliceAudience(first: FilterStreamMessage, rest: AsyncIterator<FilterStreamMessage>, f: PreparedFilter, tally: FilterTally): AsyncGenerator<AudienceSlice> {
  const seen = new PhoneSet();
  for (let next: IteratorResult<FilterStreamMessage> = { done: false, value: first }; !next.done; next = await rest.next()) {
    const phones = next.value.phones;
    const before = tally.audienceCount;
    tally.audienceCount += phones.length;
    if (tally.audienceCount > MAX_AUDIENCE_PER_STREAM) {
      throw tooMany(MAX_AUDIENCE_PER_STREAM, `more (${tally.audienceCount.toLocaleString("en-US")} so far)`, "per stream");
    }
    for (let start = 0; start === 0 || start < phones.length; start += LOOKUP_CHUNK) {
      const parsed = parseAudience(phones.length <= LOOKUP_CHUNK ? phones : phones.slice(start, start + LOOKUP_CHUNK), f.normalizer());
      tally.unparseableCount += parsed.unparseableCount;
      yield {
        fresh: parsed.phones.filter((p) => seen.add(p)).sort(comparePhones),
        unparseable: parsed.unparseable,
        decidedCount: before + Math.min(start + LOOKUP_CHUNK, phones.length),
      };
    }
  }
}

/** One slice's query, on a pooled connection held for that query only. */
async function decide(ctx: ServiceContext, f: PreparedFilter, slice: AudienceSlice): Promise<FilterPart> {
  const matched = new Map<string, EpochMicros>();
  if (slice.fresh.length > 0) await ctx.db.withClient((c) => lookUp(ctx, c, f, slice.fresh, matched));
  const keptPhones = slice.fresh.filter((p) => keeps(f.filter.mode, matched.has(p)));
  return { keptPhones, unparseablePhones: slice.unparseable, decidedCount: slice.decidedCount };
}

/**
 * The streamed form with one answer at the end: the parts gathered, the kept phones sorted. The
 * answer itself (every kept phone, then its encoding) is what this form holds; a large answer is
 * FilterAudienceChunked's job.
 */
export async function filterAudienceStream(ctx: ServiceContext, caller: Caller, messages: AsyncIterable<FilterStreamMessage>): Promise<FilterStreamResult> {
  const keptPhones: string[] = [];
  const unparseablePhones: string[] = [];
  let audienceCount = 0;
  for await (const part of filterAudienceParts(ctx, caller, coalesce(messages))) {
    for (const p of part.keptPhones) keptPhones.push(p);
    for (const u of part.unparseablePhones) {
      if (unparseablePhones.length >= MAX_STREAM_UNPARSEABLE) break;
      unparseablePhones.push(u);
    }
    if (part.tally) audienceCount = part.tally.audienceCount;
  }
  keptPhones.sort(comparePhones);
  return { keptPhones, unparseablePhones, audienceCount, keptCount: keptPhones.length };
}

/**
 * Small messages merged into messages of about LOOKUP_CHUNK phones (the first one passed on as it
 * is, so its checks run at once). Only for FilterAudienceStream: it answers at the end anyway,
 * and one query per small message costs more (1,000 messages of 200 phones: +20% time).
 */
async function* coalesce(messages: AsyncIterable<FilterStreamMessage>): AsyncGenerator<FilterStreamMessage> {
  let batch: string[] = [];
  let first = true;
  for await (const m of messages) {
    if (first || (batch.length === 0 && m.phones.length >= LOOKUP_CHUNK)) {
      first = false;
      yield m;
      continue;
    }
    for (const p of m.phones) batch.push(p);
    if (batch.length >= LOOKUP_CHUNK) {
      yield { ...m, phones: batch };
      batch = [];
    }
  }
  if (batch.length > 0) yield { organizationId: undefined, filter: undefined, asOf: "", phones: batch };
}
