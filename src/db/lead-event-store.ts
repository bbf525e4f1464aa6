// Set-based reads and writes of lead events, never a unit of work: new rows of a large batch
// go by binary COPY straight into lead_event; a batch that holds stored keys is probed chunk by
// chunk through the primary key and only its new rows are written (COPY into a temporary staging
// table and one INSERT ... SELECT ... ON CONFLICT DO NOTHING, or one INSERT over unnest()ed arrays).
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { from as copyFrom } from "pg-copy-streams";
import type { SqlClient } from "./database.js";
import type { EpochMicros, ValidRow } from "../domain/types.js";
import { firstOfEachKey } from "../domain/batch.js";
import type { FilterWindow } from "../domain/audience.js";
import { formatTimestamp } from "../domain/timestamp.js";
import { LEAD_EVENT_COPY_BINARY, leadEventCopyBinary } from "./lead-event-copy-binary.js";

export interface StoredEvent {
  phoneE164: string;
  eventType: string;
  occurredAt: EpochMicros;
  /** The stored metadata as JSON text, or null. */
  metadataJson: string | null;
  receivedAt: EpochMicros;
}

export interface EventQuery {
  organizationId: number;
  phoneE164?: string;
  eventType?: string;
  occurredFrom?: EpochMicros;
  occurredTo?: EpochMicros;
  /** Keyset cursor: the last event of the previous page. */
  after?: { occurredAt: EpochMicros; phoneE164: string; eventType: string };
  limit: number;
}

/** One event type of an organization, as ListEventTypes reports it. */
export interface EventTypeSummary {
  eventType: string;
  eventCount: number;
  distinctPhones: number;
  firstOccurredAt: EpochMicros;
  lastOccurredAt: EpochMicros;
}

/** "Which of these phones had this event in this window?" */
export interface PhonesWithEventQuery {
  organizationId: number;
  /** Distinct normalized phones (sorted, so the index probes walk the index in order). */
  phones: readonly string[];
  eventType: string;
  window: FilterWindow;
}

/**
 * The campaign filter's one query: for each phone, one backward probe of the primary key index
 * (organization_id, phone_e164, event_type, occurred_at).
 *
 * The audience arrives as one array parameter, unnest()ed into a relation (one bind parameter
 * whatever its size). For each phone a LATERAL subquery asks for the last index entry at or
 * before (organization, phone, type, asOf) in key order; that entry is the phone's newest event
 * of the type at or before asOf exactly when its phone and type are the ones asked for, and it is
 * inside the window exactly when it is not older than the window's start: the outer WHERE checks
 * those three. So each phone costs a single index descent, however long its history; the LATERAL
 * join keeps the plan the same for any audience size (no hash join over the organization's rows);
 * and the answer says both whether the phone matched and when (explain). Include and exclude are
 * decided in code from the same rows: the query returns only the phones that matched.
 *
 * Why a row comparison and an ORDER BY on the whole key rather than phone_e164 = a.phone AND
 * event_type = $3 AND occurred_at <= $4 ORDER BY occurred_at DESC: with those equalities, a
 * planner without statistics (a table freshly loaded, before autovacuum analyzed it) prices
 * a secondary (organization, type, time) index (lead_event had one until 2026-12-04) the same as
 * the primary key and may walk it, filtering on phone: a pass over the organization's rows per
 * phone (seen: 40 s instead of 50 ms for 20,000 phones). Only the primary key yields rows in this ORDER BY, so its
 * backward scan is the one cheap plan, with or without statistics. The price: the btree compares
 * a row value at about twice the CPU of plain equalities (measured ~8 instead of ~4 µs a phone on
 * 1.3 million rows, both three buffer hits a phone); a wrong plan costs a pass over the
 * organization's rows for every phone.
 *
 * Deliberately not `phone_e164 = ANY($2)` (a filter over many rows, evaluated row by row) and not
 * `NOT IN (subquery)` (NULL semantics and a hashed SubPlan); test/integration/filter-plan.test.ts
 * checks the plan.
 */
export function phonesWithEventQuery(q: PhonesWithEventQuery): { text: string; values: unknown[] } {
  const values: unknown[] = [q.organizationId, q.phones, q.eventType, formatTimestamp(q.window.to)];
  if (q.window.from !== null) values.push(formatTimestamp(q.window.from));
  return {
    text: `select a.phone, ${MICROS("m.occurred_at")} as matched_us
             from unnest($2::text[]) as a(phone)
             cross join lateral (
                   select e.phone_e164, e.event_type, e.occurred_at
                     from lead_event e
                    where e.organization_id = $1
                      and (e.phone_e164, e.event_type, e.occurred_at) <= (a.phone, $3, $4::timestamptz)
                    order by e.phone_e164 desc, e.event_type desc, e.occurred_at desc
                    limit 1) m
            where m.phone_e164 = a.phone
              and m.event_type = $3${q.window.from === null ? "" : `
              and m.occurred_at >= $5::timestamptz`}`,
    values,
  };
}

/**
 * Per-connection staging table; emptied at every commit, so it must be used in a transaction.
 * occurred_at travels as integer microseconds (no timestamp text to format or parse) and
 * metadata as text, so rows that turn out to be duplicates never pay for a json parse.
 */
const STAGE = "lead_event_stage";
/** Creates this connection's staging table if needed (a temp table lives as long as its connection). */
export const STAGE_DDL = `create temp table if not exists ${STAGE} (ord int4 not null, phone_e164 text not null, event_type text not null, occurred_us int8 not null, metadata text) on commit delete rows`;
/** Rows per COPY chunk: validating one is a few ms, so PostgreSQL parses a chunk while we make the next. */
export const COPY_CHUNK_ROWS = 2000;
/** Up to this many rows, one INSERT over arrays beats COPY's extra round trips. */
export const SMALL_BATCH_ROWS = 500;
/** Exact: micros are integers below 2^53, so interval * float8 loses nothing. */
const STAGED_OCCURRED_AT = "(timestamptz 'epoch' + s.occurred_us * interval '1 microsecond')";

/** COPY text format: a backslash starts an escape; control characters never reach here. */
function copyText(value: string): string {
  return value.includes("\\") ? value.replaceAll("\\", "\\\\") : value;
}

function* chunksOf<T>(items: readonly T[], size: number): Generator<readonly T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** One COPY text block per chunk of rows, for the staging table. */
function* copyBlocks(chunks: Iterable<readonly ValidRow[]>): Generator<string> {
  for (const rows of chunks) {
    let block = "";
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      // Phones are "+digits"; event types have no control characters (validated) and JSON text
      // escapes its own: only backslashes need doubling.
      block += `${r.index}\t${r.phoneE164}\t${copyText(r.eventType)}\t${r.occurredAt}\t${r.metadataJson === null ? "\\N" : copyText(r.metadataJson)}\n`;
    }
    if (block) yield block;
  }
}

/**
 * Settings for the rest of the send's transaction (SET LOCAL):
 * - enable_seqscan off: the per-row probe must walk the primary key even when the statistics say
 *   lead_event is tiny (a new database, or one just loaded) and a scan-and-sort per staged row
 *   looks as cheap; the table may have grown since. The staging table has no index, so it is
 *   still scanned, once;
 * - jit off: on PostgreSQL before 18 a disabled scan adds a huge cost, which would start JIT
 *   compilation for nothing;
 * - work_mem 64 MB: the default 4 MB sorts a 50,000-row batch on disk.
 */
export const STAGED_INSERT_SETTINGS = "set local enable_seqscan = off; set local jit = off; set local work_mem = '64MB'";

const KEY_SEPARATOR = "\u001f";
const KEY_SEPARATOR_SQL = "E'\\x1f'";

/**
 * Which of these keys are stored: how many, and the 1-based ordinals of those that are not,
 * comma-separated in one text value (null when all are), see LeadEventStore.unstoredRows. A
 * re-sent chunk, the case that must be cheap, answers (n, null): nothing to parse. The keys travel
 * as three texts split by string_to_array on U+001F, which none of them can hold (phones are
 * "+digits", times digits, event types have no control characters): one native split instead of
 * escaping and parsing array literals element by element, and one row back.
 */
export function storedKeysQuery(organizationId: number, phones: string[], types: string[], micros: string[]): { text: string; values: unknown[] } {
  const at = "(timestamptz 'epoch' + u.us * interval '1 microsecond')";
  return {
    text: `select count(x.stored)::int4 as stored, string_agg(u.i::text, ',' order by u.i) filter (where x.stored is null) as unstored
             from unnest(string_to_array($2, ${KEY_SEPARATOR_SQL}), string_to_array($3, ${KEY_SEPARATOR_SQL}), string_to_array($4, ${KEY_SEPARATOR_SQL})::int8[]) with ordinality as u(p, t, us, i)
             left join lateral (select true as stored
                                  from lead_event e
                                 where e.organization_id = $1
                                   and (e.phone_e164, e.event_type, e.occurred_at) >= (u.p, u.t, ${at})
                                   and (e.phone_e164, e.event_type, e.occurred_at) <= (u.p, u.t, ${at})
                                 order by e.phone_e164, e.event_type, e.occurred_at
                                 limit 1) x on true`,
    values: [organizationId, phones.join(KEY_SEPARATOR), types.join(KEY_SEPARATOR), micros.join(KEY_SEPARATOR)],
  };
}

/** The statement that moves the staged rows into lead_event (see LeadEventStore.insertChunks). */
export function stagedInsertQuery(organizationId: number): { text: string; values: unknown[] } {
  return {
    text: `insert into lead_event (organization_id, phone_e164, event_type, occurred_at, metadata)
           select $1, s.phone_e164, s.event_type, ${STAGED_OCCURRED_AT}, s.metadata::json
             from ${STAGE} s
             left join lateral (select true as stored
                                  from lead_event e
                                 where e.organization_id = $1
                                   and (e.phone_e164, e.event_type, e.occurred_at) >= (s.phone_e164, s.event_type, ${STAGED_OCCURRED_AT})
                                   and (e.phone_e164, e.event_type, e.occurred_at) <= (s.phone_e164, s.event_type, ${STAGED_OCCURRED_AT})
                                 order by e.phone_e164, e.event_type, e.occurred_at
                                 limit 1) x on true
            where x.stored is null
            order by s.phone_e164, s.event_type, s.occurred_us, s.ord
           on conflict do nothing`,
    values: [organizationId],
  };
}

const MICROS = (col: string) => `(extract(epoch from ${col}) * 1000000)::int8`;

/** One page of QueryLeadEvents, newest occurred_at first, ties broken by phone then type (both descending). */
export function eventPageQuery(q: EventQuery): { text: string; values: unknown[] } {
  const params: unknown[] = [q.organizationId];
  const where = ["organization_id = $1"];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace("?", `$${params.length}`));
  };
  if (q.phoneE164 !== undefined) add("phone_e164 = ?", q.phoneE164);
  if (q.eventType !== undefined) add("event_type = ?", q.eventType);
  if (q.occurredFrom !== undefined) add("occurred_at >= ?::timestamptz", formatTimestamp(q.occurredFrom));
  if (q.occurredTo !== undefined) add("occurred_at <= ?::timestamptz", formatTimestamp(q.occurredTo));
  if (q.after) {
    params.push(formatTimestamp(q.after.occurredAt), q.after.phoneE164, q.after.eventType);
    const k = params.length;
    where.push(`(occurred_at, phone_e164, event_type) < ($${k - 2}::timestamptz, $${k - 1}, $${k})`);
  }
  params.push(q.limit);
  const limit = `$${params.length}`;
  const columns = (r: string) => `${r}phone_e164, ${r}event_type, ${MICROS(`${r}occurred_at`)} as occurred_us, ${r}metadata::text as metadata, ${MICROS(`${r}received_at`)} as received_us`;
  const order = (r: string) => `order by ${r}occurred_at desc, ${r}phone_e164 desc, ${r}event_type desc`;
  const text =
    q.phoneE164 === undefined
      ? // lead_event has one index, its primary key (organization, phone, type, time): ingest pays
        // for no other (see entities.ts). Without a phone, a page is the top `limit` of the
        // organization's key range: found on the key columns alone (an index-only pass, no row
        // is read for the sort), then only those rows are fetched. Its cost grows with the
        // organization's rows, never with other organizations'.
        `select ${columns("e.")}
           from (select phone_e164, event_type, occurred_at
                   from lead_event
                  where ${where.join(" and ")}
                  ${order("")}
                  limit ${limit}) k
           join lead_event e
             on e.organization_id = $1 and e.phone_e164 = k.phone_e164 and e.event_type = k.event_type and e.occurred_at = k.occurred_at
          ${order("e.")}`
      : `select ${columns("")}
           from lead_event
          where ${where.join(" and ")}
          ${order("")}
          limit ${limit}`;
  return { text, values: params };
}

/** See copyNewRows: how long the direct COPY waits for another writer's row lock (SQLSTATE 55P03 after). */
export const DIRECT_COPY_LOCK_TIMEOUT = "set local lock_timeout = '200ms'";

/**
 * A key of the batch was stored by someone else meanwhile (unique violation), or another writer
 * holds a row lock of the same key (lock timeout; a deadlock where PostgreSQL's check came
 * first): the direct COPY cannot go on; the call must be redone on the probing path, in a new
 * transaction.
 */
export class DirectCopyConflict extends Error {
  constructor(readonly sqlState: string) {
    super(`direct COPY into lead_event hit a conflict (SQLSTATE ${sqlState})`);
    this.name = "DirectCopyConflict";
  }
}

export class LeadEventStore {
  /**
   * Inserts validated rows (in-call repeats allowed: the first of a key, by `index`, wins).
   * Returns how many were new: the database's own count, not a re-query.
   */
  async insertBatch(client: SqlClient, organizationId: number, rows: readonly ValidRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    if (rows.length <= SMALL_BATCH_ROWS) return this.insertSmallBatch(client, organizationId, rows);
    return this.insertChunks(client, organizationId, chunksOf(rows, COPY_CHUNK_ROWS));
  }

  /**
   * The large-batch write. Chunks are pulled one at a time and streamed with COPY into the
   * staging table, so when `chunks` validates lazily (BatchValidation) PostgreSQL parses one
   * chunk on its core while the next is validated on ours. Then one statement moves the new rows:
   * - stored keys first: a key already stored costs one probe of the primary key and is never
   *   sorted, cast to json or offered to the unique index (a re-sent batch does no other work).
   *   The probe is written so that only the primary key can serve it: row comparisons (only an
   *   index whose columns follow phone, type, time can use them) bounding the key from both
   *   sides, so the scan ends right after the key. With plain equalities a planner with stale
   *   statistics probed lead_event_org_time_idx and filtered on phone: quadratic when many rows
   *   share a timestamp (seen: 14 s for 15,000 rows); with a lower bound alone the scan walks
   *   over every not-yet-committed entry of a concurrent batch. And LATERAL ... LIMIT 1 rather
   *   than NOT EXISTS, which becomes a hash anti join reading every row of the organization;
   * - ORDER BY the key: concurrent overlapping batches take their row locks in one order and
   *   cannot deadlock, whatever order the rows arrived in; `ord` last, so of in-call repeats the
   *   first one is inserted and ON CONFLICT DO NOTHING skips the others (and rows a concurrent
   *   call committed in between).
   */
  async insertChunks(client: SqlClient, organizationId: number, chunks: Iterable<readonly ValidRow[]>): Promise<number> {
    await client.query(`${STAGE_DDL}; ${STAGED_INSERT_SETTINGS}`);
    await pipeline(
      // highWaterMark 1: validate a chunk only when the previous one is on its way.
      Readable.from(copyBlocks(chunks), { highWaterMark: 1 }),
      client.query(copyFrom(`copy ${STAGE} (ord, phone_e164, event_type, occurred_us, metadata) from stdin`)),
    );
    const { text, values } = stagedInsertQuery(organizationId);
    const result = await client.query(text, values);
    return result.rowCount ?? 0;
  }

  /**
   * The fastest write: COPY straight into lead_event, chunk by chunk as `chunks` yields them, so
   * PostgreSQL inserts one chunk while the next is validated. COPY has no ON CONFLICT: the rows
   * must be new (no in-call repeats, none stored); the caller checks what it can beforehand and
   * any key that is stored after all (a concurrent call, an overlap beyond what was checked)
   * fails the statement with DirectCopyConflict, as does a deadlock with a concurrent writer of
   * the same keys (rows go in arrival order here, not key order). Returns the rows written.
   */
  async copyNewRows(client: SqlClient, organizationId: number, chunks: Iterable<readonly ValidRow[]>): Promise<number> {
    // A row lock held by another writer of the same keys makes this COPY give way after 200 ms,
    // before PostgreSQL's deadlock check (1 s by default) could pick the other writer, which
    // takes its locks in key order, as the victim. Nothing else runs after it in the transaction.
    await client.query(DIRECT_COPY_LOCK_TIMEOUT);
    const copy = client.query(copyFrom(LEAD_EVENT_COPY_BINARY));
    try {
      await pipeline(Readable.from(leadEventCopyBinary(organizationId, chunks), { highWaterMark: 1 }), copy);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === "23505" || code === "40P01" || code === "55P03") throw new DirectCopyConflict(code);
      throw err;
    }
    return copy.rowCount;
  }

  /**
   * A few rows (the one-event webhook): one statement over unnest()ed arrays, rather than the
   * staging table's three round trips. Same ORDER BY as the large path: every writer takes its
   * row locks in the database's order of the key.
   */
  private async insertSmallBatch(client: SqlClient, organizationId: number, rows: readonly ValidRow[]): Promise<number> {
    const result = await client.query(
      `insert into lead_event (organization_id, phone_e164, event_type, occurred_at, metadata)
       select $1, u.p, u.t, u.o::timestamptz, u.m::json
         from unnest($2::text[], $3::text[], $4::text[], $5::text[]) as u(p, t, o, m)
        order by 2, 3, 4
       on conflict do nothing`,
      [organizationId, rows.map((r) => r.phoneE164), rows.map((r) => r.eventType), rows.map((r) => formatTimestamp(r.occurredAt)), rows.map((r) => r.metadataJson)],
    );
    return result.rowCount ?? 0;
  }

  /** How many of these rows are already stored (validate_only's duplicates against the database). */
  async countExisting(client: SqlClient, organizationId: number, rows: readonly ValidRow[]): Promise<number> {
    return rows.length - (await this.unstoredRows(client, organizationId, rows)).length;
  }

  /**
   * The rows whose key is not stored yet, in their order: one probe of the primary key per row,
   * written like the staged insert's (only the primary key can serve it), over unnest()ed arrays:
   * one round trip, three bind parameters. The transaction should have STAGED_INSERT_SETTINGS, so
   * that stale statistics cannot make a scan per row look cheap.
   */
  async unstoredRows(client: SqlClient, organizationId: number, rows: readonly ValidRow[]): Promise<readonly ValidRow[]> {
    const n = rows.length;
    if (n === 0) return rows;
    const phones = new Array<string>(n);
    const types = new Array<string>(n);
    const times = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      phones[i] = r.phoneE164;
      types[i] = r.eventType;
      times[i] = String(r.occurredAt);
    }
    const { text, values } = storedKeysQuery(organizationId, phones, types, times);
    const { rows: result } = await client.query<{ stored: number; unstored: string | null }>(text, values);
    const { stored, unstored } = result[0]!;
    if (stored === n || unstored === null) return [];
    if (stored === 0) return rows;
    return unstored.split(",").map((i) => rows[Number(i) - 1]!);
  }

  /**
   * The rows of a batch that holds stored keys (a re-send, an overlapping export) whose keys are
   * not stored, first of in-call repeats only: each chunk's keys are probed while the next chunk
   * is validated. A re-sent batch costs its validation and one probe a row. The caller inserts
   * what is left with insertBatch (ON CONFLICT DO NOTHING catches a key stored meanwhile).
   *
   * With a `spare` connection (a read-only transaction beside this one, begun with
   * STAGED_INSERT_SETTINGS), chunks are probed on the two connections in turn: the probes are
   * most of a re-send's time, and PostgreSQL then runs two at once. A probe there sees what is
   * committed, which is all this transaction would see too: nothing is written here before the
   * probes end, and an erasure cannot commit meanwhile (the send holds the organization's
   * erasure lock).
   */
  async unstoredOfChunks(client: SqlClient, organizationId: number, chunks: Iterable<readonly ValidRow[]>, spare?: SqlClient): Promise<ValidRow[]> {
    await client.query(STAGED_INSERT_SETTINGS);
    // The spare is a help, not a dependency: a probe that fails there (its connection broke) is
    // asked again on this transaction's own connection, which then takes every later chunk.
    let spareOk = spare !== undefined;
    let next = 0;
    const probeNext = (rows: readonly ValidRow[]): Promise<readonly ValidRow[]> => {
      if (!spareOk || next++ % 2 === 0) return this.unstoredRows(client, organizationId, rows);
      return this.unstoredRows(spare!, organizationId, rows).catch(() => {
        spareOk = false;
        return this.unstoredRows(client, organizationId, rows);
      });
    };
    const fresh: ValidRow[] = [];
    const inflight: Promise<readonly ValidRow[]>[] = [];
    const keep = async (probe: Promise<readonly ValidRow[]>) => {
      for (const r of await probe) fresh.push(r);
    };
    // Taking the next chunk validates it, while earlier chunks' probes are in the database (one
    // per connection); results are kept in chunk order, so the first of in-call repeats wins.
    for (const rows of chunks) {
      const probe = probeNext(rows);
      // A probe that fails must not be left unobserved while the next chunk is validated.
      probe.catch(() => undefined);
      inflight.push(probe);
      while (inflight.length > (spareOk ? 2 : 1)) await keep(inflight.shift()!);
    }
    for (const probe of inflight) await keep(probe);
    return [...firstOfEachKey([fresh])].flat();
  }

  /**
   * The phones of q.phones that had the event in the window, each with the newest matching
   * occurred_at. Phones without a match are absent from the map.
   */
  async phonesWithEvent(client: SqlClient, q: PhonesWithEventQuery): Promise<Map<string, EpochMicros>> {
    const matched = new Map<string, EpochMicros>();
    if (q.phones.length === 0) return matched;
    const { text, values } = phonesWithEventQuery(q);
    const { rows } = await client.query<{ phone: string; matched_us: string }>(text, values);
    for (const r of rows) matched.set(r.phone, Number(r.matched_us));
    return matched;
  }

  /**
   * The organization's catalog: per type, rows, distinct phones, first and last occurred_at.
   * The inner grouping follows the primary key's order (organization, phone, type), so
   * PostgreSQL can read it in one pass of the index with no sort; the outer one folds the
   * (phone, type) groups into one line per type.
   */
  async eventTypeSummaries(client: SqlClient, organizationId: number): Promise<EventTypeSummary[]> {
    const { rows } = await client.query<{ event_type: string; event_count: string; distinct_phones: string; first_us: string; last_us: string }>(
      `select g.event_type,
              sum(g.n)::int8 as event_count,
              count(*)::int8 as distinct_phones,
              ${MICROS("min(g.first_at)")} as first_us,
              ${MICROS("max(g.last_at)")} as last_us
         from (select phone_e164, event_type, count(*) as n, min(occurred_at) as first_at, max(occurred_at) as last_at
                 from lead_event
                where organization_id = $1
                group by phone_e164, event_type) g
        group by g.event_type`,
      [organizationId],
    );
    const summaries = rows.map((r) => ({
      eventType: r.event_type,
      eventCount: Number(r.event_count),
      distinctPhones: Number(r.distinct_phones),
      firstOccurredAt: Number(r.first_us),
      lastOccurredAt: Number(r.last_us),
    }));
    // Code-unit order, like every other sort of this service (not the database's collation).
    return summaries.sort((a, b) => (a.eventType < b.eventType ? -1 : a.eventType > b.eventType ? 1 : 0));
  }

  /** One page, newest occurred_at first, ties broken by phone then type (both descending). */
  async findPage(client: SqlClient, q: EventQuery): Promise<StoredEvent[]> {
    const { text, values } = eventPageQuery(q);
    const { rows } = await client.query<{ phone_e164: string; event_type: string; occurred_us: string; metadata: string | null; received_us: string }>(text, values);
    return rows.map((r) => ({
      phoneE164: r.phone_e164,
      eventType: r.event_type,
      occurredAt: Number(r.occurred_us),
      metadataJson: r.metadata,
      receivedAt: Number(r.received_us),
    }));
  }
}
