// Set-based reads and writes of lead events. A 50,000-row batch is one INSERT ... SELECT over
// unnest()ed column arrays: five bind parameters whatever the batch size, no unit of work.
import type { SqlClient } from "./database.js";
import type { EpochMicros, ValidRow } from "../domain/types.js";
import { formatTimestamp } from "../domain/timestamp.js";

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

// Exact microseconds out of PostgreSQL: extract(epoch ...) is numeric (exact) since PG 14;
// the driver would otherwise turn timestamptz into a millisecond Date.
const MICROS = (col: string) => `(extract(epoch from ${col}) * 1000000)::int8`;

export class LeadEventStore {
  /**
   * Inserts rows already validated, deduplicated and sorted by the unique key (so that
   * concurrent overlapping batches take row locks in the same order and cannot deadlock).
   * Returns how many were new: the database's own count, not a re-query.
   */
  async insertBatch(client: SqlClient, organizationId: number, rows: readonly ValidRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    const n = rows.length;
    const phones = new Array<string>(n);
    const types = new Array<string>(n);
    const times = new Array<string>(n);
    const metadata = new Array<string | null>(n);
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      phones[i] = r.phoneE164;
      types[i] = r.eventType;
      times[i] = formatTimestamp(r.occurredAt);
      metadata[i] = r.metadataJson;
    }
    const result = await client.query(
      `insert into lead_event (organization_id, phone_e164, event_type, occurred_at, metadata)
       select $1, u.p, u.t, u.o::timestamptz, u.m::jsonb
         from unnest($2::text[], $3::text[], $4::text[], $5::text[]) as u(p, t, o, m)
       on conflict do nothing`,
      [organizationId, phones, types, times, metadata],
    );
    return result.rowCount ?? 0;
  }

  /** One page, newest occurred_at first, ties broken by phone then type (both descending). */
  async findPage(client: SqlClient, q: EventQuery): Promise<StoredEvent[]> {
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
    const { rows } = await client.query<{ phone_e164: string; event_type: string; occurred_us: string; metadata: string | null; received_us: string }>(
      `select phone_e164, event_type, ${MICROS("occurred_at")} as occurred_us, metadata::text as metadata, ${MICROS("received_at")} as received_us
         from lead_event
        where ${where.join(" and ")}
        order by occurred_at desc, phone_e164 desc, event_type desc
        limit $${params.length}`,
      params,
    );
    return rows.map((r) => ({
      phoneE164: r.phone_e164,
      eventType: r.event_type,
      occurredAt: Number(r.occurred_us),
      metadataJson: r.metadata,
      receivedAt: Number(r.received_us),
    }));
  }
}
