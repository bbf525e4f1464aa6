// FilterAudience and FilterAudienceStream: of an audience, who had an event (within a window)?
// The rules live in domain/audience.ts; the lookup is LeadEventStore.phonesWithEvent.
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
import type { EpochMicros } from "../domain/types.js";
import type { SqlClient } from "../db/database.js";
import { authorize, callerOrganization, type Caller } from "./auth.js";
import type { ServiceContext } from "./context.js";

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

interface PreparedFilter {
  organizationId: number;
  filter: EventFilterSpec;
  window: FilterWindow;
  normalize: (raw: unknown) => string | null;
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
  return {
    organizationId,
    filter: filter.value,
    window: filterWindow(asOf.value, filter.value.withinMinutes),
    // The organization's own rules, so the audience is read exactly as its events were.
    normalize: createPhoneNormalizer({ defaultRegion: org.defaultRegion, strict: org.strictPhoneValidation }),
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
    throw tooMany(MAX_AUDIENCE_PER_CALL, input.phones.length.toLocaleString("en-US"), "per call; stream larger audiences with FilterAudienceStream");
  }
  const f = prepare(ctx, caller, organizationId, input.filter, input.asOf);
  const audience = parseAudience(input.phones, f.normalize);
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
 * The streamed form. Memory stays proportional to the answer, not to the audience: each message
 * is normalized and let go, distinct phones wait in a buffer of about LOOKUP_CHUNK until one
 * query decides them, and only the kept phones (the answer) and the first
 * MAX_STREAM_UNPARSEABLE unparseable entries are held to the end. Awaiting each query before
 * reading the next message lets transport flow control slow a fast client down.
 *
 * A phone already kept is not looked up again. A dropped phone is not remembered (that would be
 * the whole audience): if it comes again it is judged again, at the same asOf, with the same
 * answer unless events of that phone arrived or were erased in between. Each chunk is its own
 * query: a stream may last minutes, too long to hold a pooled connection in one snapshot.
 */
export async function filterAudienceStream(ctx: ServiceContext, caller: Caller, messages: AsyncIterable<FilterStreamMessage>): Promise<FilterStreamResult> {
  const iterator = messages[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw invalidArgument("FILTER_MISSING", "the stream's first message must carry the filter (and organization_id, as_of)");
  const organizationId = authorize(caller, "read", first.value.organizationId);
  const f = prepare(ctx, caller, organizationId, first.value.filter, first.value.asOf);

  const kept = new Set<string>();
  const unparseable: string[] = [];
  const pending = new Set<string>();
  let audienceCount = 0;

  const flush = async () => {
    if (pending.size === 0) return;
    const phones = [...pending].sort(comparePhones);
    pending.clear();
    const matched = new Map<string, EpochMicros>();
    await ctx.db.withClient((c) => lookUp(ctx, c, f, phones, matched));
    for (const phone of phones) if (keeps(f.filter.mode, matched.has(phone))) kept.add(phone);
  };

  const take = async (phones: readonly string[]) => {
    audienceCount += phones.length;
    if (audienceCount > MAX_AUDIENCE_PER_STREAM) {
      throw tooMany(MAX_AUDIENCE_PER_STREAM, `more (${audienceCount.toLocaleString("en-US")} so far)`, "per stream");
    }
    const part = parseAudience(phones, f.normalize, MAX_STREAM_UNPARSEABLE - unparseable.length);
    for (const u of part.unparseable) unparseable.push(u);
    for (const phone of part.phones) if (!kept.has(phone)) pending.add(phone);
    if (pending.size >= LOOKUP_CHUNK) await flush();
  };

  await take(first.value.phones);
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) await take(next.value.phones);
  await flush();

  const keptPhones = [...kept].sort(comparePhones);
  return { keptPhones, unparseablePhones: unparseable, audienceCount, keptCount: keptPhones.length };
}
