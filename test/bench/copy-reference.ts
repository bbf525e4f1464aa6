// The references every ingest figure is a ratio to: the same rows written by PostgreSQL's
// fastest paths, on the same machine, in the same run. Each run copies into a fresh table with
// lead_event's primary key, timing only the write itself (table creation and the data's
// preparation happen before the clock; the drop after it). The reference ("copy") keeps metadata
// as jsonb, the column type the figures and the first runs had; lead_event's is now json,
// and "copy-json" shows how much of the reference that alone is.
import { performance } from "node:perf_hooks";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { copyText, unnestArrays, type Batch } from "./data.js";

export type ReferenceName = "copy" | "copy-json" | "staging" | "unnest" | "copy-lead-event-indexes" | "copy-into-lead-event";

export const REFERENCE_LABELS: Record<ReferenceName, string> = {
  copy: "COPY (pg-copy-streams) into a table with lead_event's primary key (metadata jsonb)",
  "copy-json": "The same COPY with metadata json (lead_event's column type) instead of jsonb",
  staging: "COPY into a temp staging table + INSERT…SELECT…ON CONFLICT DO NOTHING",
  unnest: "INSERT…SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING",
  "copy-lead-event-indexes": "COPY into an empty copy of lead_event (its column types and indexes)",
  "copy-into-lead-event": "COPY into lead_event itself (populated, its indexes): the floor of the service's write",
};

const COLUMNS = "organization_id, phone_e164, event_type, occurred_at, metadata";

let tableSeq = 0;

async function freshTable(client: pg.Client, withLeadEventIndexes: boolean, metadataType = "jsonb"): Promise<string> {
  const name = `bench_ref_${process.pid}_${++tableSeq}`;
  if (withLeadEventIndexes) {
    await client.query(`create table ${name} (like lead_event including defaults including indexes including constraints)`);
  } else {
    await client.query(`create table ${name} (
      organization_id bigint not null, phone_e164 text not null, event_type text not null,
      occurred_at timestamptz(6) not null, metadata ${metadataType} null, received_at timestamptz(6) not null default now(),
      primary key (organization_id, phone_e164, event_type, occurred_at))`);
  }
  return name;
}

async function copyInto(client: pg.Client, table: string, data: Buffer): Promise<void> {
  const stream = client.query(copyFrom(`copy ${table} (${COLUMNS}) from stdin`));
  await pipeline(Readable.from([data]), stream);
}

/** Runs one reference over `batch` and returns its duration in ms. */
let leadEventSeq = 0;

export async function runReference(client: pg.Client, name: ReferenceName, organizationId: number, batch: Batch): Promise<number> {
  if (name === "copy-into-lead-event") {
    // The rows a send of this batch would write, under an event type of their own (so all new),
    // into the table the sends write: what is left above this is the service's own cost. They
    // stay, like every send's rows, so the table grows as it does for the transports.
    const data = copyText(organizationId, `bench_copy_lead_event_${process.pid}_${++leadEventSeq}`, batch);
    const t0 = performance.now();
    await copyInto(client, "lead_event", data);
    return performance.now() - t0;
  }
  const eventType = "copy_reference";
  const table = await freshTable(client, name === "copy-lead-event-indexes", name === "copy-json" ? "json" : "jsonb");
  try {
    switch (name) {
      case "copy":
      case "copy-json":
      case "copy-lead-event-indexes": {
        const data = copyText(organizationId, eventType, batch);
        const t0 = performance.now();
        await copyInto(client, table, data);
        return performance.now() - t0;
      }
      case "staging": {
        const data = copyText(organizationId, eventType, batch);
        await client.query(`create temp table bench_stage (organization_id bigint, phone_e164 text, event_type text, occurred_at timestamptz(6), metadata jsonb)`);
        try {
          const t0 = performance.now();
          await copyInto(client, "bench_stage", data);
          await client.query(`insert into ${table} (${COLUMNS}) select ${COLUMNS} from bench_stage on conflict do nothing`);
          return performance.now() - t0;
        } finally {
          await client.query("drop table bench_stage");
        }
      }
      case "unnest": {
        const a = unnestArrays(eventType, batch);
        const t0 = performance.now();
        const res = await client.query(
          `insert into ${table} (${COLUMNS})
           select $1, u.p, u.t, u.o::timestamptz, u.m::jsonb
             from unnest($2::text[], $3::text[], $4::text[], $5::text[]) as u(p, t, o, m)
           on conflict do nothing`,
          [organizationId, a.phones, a.types, a.times, a.metadata],
        );
        const ms = performance.now() - t0;
        if (res.rowCount !== batch.rows.length) throw new Error(`unnest reference inserted ${res.rowCount}, expected ${batch.rows.length}`);
        return ms;
      }
    }
  } finally {
    await client.query(`drop table if exists ${table}`);
  }
}
