// Erasure: deleting a phone's events and the tombstones that keep replays from restoring them.
//
// Race between an erasure and a send of the same organization. Without care a send could read
// "no tombstone", the erasure could then write its tombstone, delete the rows it can see and
// commit, and the send could commit rows the erasure never saw: erased data back. So both sides
// take a transaction-level advisory lock on the organization before they read or write anything:
// a send takes it shared (sends never wait for each other), an erasure exclusive. An erasure thus
// waits for the sends already running and its DELETE, a statement that starts after the lock is
// granted, sees their committed rows; a send that starts later waits for the erasure to commit
// and its tombstone check, also a later statement, sees the tombstone. The guarantee: every send
// commits either entirely before an erasure (its rows are deleted) or entirely after it (its rows
// are checked against the tombstone); never in between. The lock is per organization (hashed
// into the 64-bit advisory key space; a collision only makes two organizations wait for each
// other), held for one transaction, and erasures are rare, so sends barely notice it.
import type { SqlClient } from "./database.js";
import type { EpochMicros } from "../domain/types.js";
import type { ErasureTombstone } from "../domain/erasure.js";

const MICROS = (col: string) => `(extract(epoch from ${col}) * 1000000)::int8`;
const LOCK_KEY = `hashtextextended('leadevents.erasure', $1::int8)`;

export interface ErasureResult {
  deleted: number;
  /** The tombstone's instant: events of the phone (and type) up to here stay erased. */
  erasedBefore: EpochMicros;
}

export class ErasureStore {
  /**
   * A send's side of the lock described above, as SQL to run right after BEGIN in the same round
   * trip (simple protocol, so the organization id is inlined: a checked safe integer). It must be
   * its own statement: a statement's snapshot predates the locks it takes, so only the statements
   * after it are sure to see an erasure that committed while the send waited for the lock.
   */
  sendLockSql(organizationId: number): string {
    if (!Number.isSafeInteger(organizationId)) throw new Error("organization id must be a safe integer");
    return `select pg_advisory_xact_lock_shared(hashtextextended('leadevents.erasure', ${organizationId}::int8))`;
  }

  /** Whether the organization has any tombstone (a one-row probe of the key prefix). */
  async anyTombstone(client: SqlClient, organizationId: number): Promise<boolean> {
    const { rows } = await client.query<{ any: boolean }>(
      `select exists (select 1 from erasure_tombstone where organization_id = $1) as any`,
      [organizationId],
    );
    return rows[0]?.any === true;
  }

  /**
   * The tombstones of these phones, set-based: the phones as one unnest()ed array joined to the
   * tombstone's primary key. Call only when the organization has any tombstone (see above).
   */
  async tombstonesFor(client: SqlClient, organizationId: number, phones: readonly string[]): Promise<ErasureTombstone[]> {
    if (phones.length === 0) return [];
    const { rows } = await client.query<{ phone_e164: string; event_type: string; erased_before_us: string }>(
      `select t.phone_e164, t.event_type, ${MICROS("t.erased_before")} as erased_before_us
         from unnest($2::text[]) as p(phone)
         join erasure_tombstone t on t.organization_id = $1 and t.phone_e164 = p.phone`,
      [organizationId, phones],
    );
    return rows.map((r) => ({ phoneE164: r.phone_e164, eventType: r.event_type, erasedBefore: Number(r.erased_before_us) }));
  }

  /**
   * Deletes the phone's events (of one type, or of every type for "") and records the tombstone,
   * in one statement inside the caller's transaction; takes the organization's lock exclusively
   * first. erased_before is the erasure's time, or the newest deleted occurred_at when that is
   * later (ingest accepts events up to an hour ahead): every deleted row stays covered, so no
   * replay can restore any of them. A repeated erasure only moves erased_before forward.
   * A phone with no events still gets its tombstone: data in flight must not land afterwards.
   */
  async erasePhone(client: SqlClient, organizationId: number, phoneE164: string, eventType: string): Promise<ErasureResult> {
    await client.query(`select pg_advisory_xact_lock(${LOCK_KEY})`, [organizationId]);
    const { rows } = await client.query<{ deleted: string; erased_before_us: string }>(
      `with deleted as (
              delete from lead_event
               where organization_id = $1 and phone_e164 = $2 and ($3 = '' or event_type = $3)
           returning occurred_at),
            tombstone as (
              insert into erasure_tombstone (organization_id, phone_e164, event_type, erased_before)
              select $1, $2, $3, greatest(now(), (select max(occurred_at) from deleted))
              on conflict (organization_id, phone_e164, event_type)
                do update set erased_before = greatest(erasure_tombstone.erased_before, excluded.erased_before)
           returning erased_before)
       select (select count(*) from deleted) as deleted, ${MICROS("erased_before")} as erased_before_us from tombstone`,
      [organizationId, phoneE164, eventType],
    );
    const row = rows[0]!;
    return { deleted: Number(row.deleted), erasedBefore: Number(row.erased_before_us) };
  }
}
