// The stored population for the growth and filter figures, written straight into lead_event with
// set-based SQL (generate_series inside PostgreSQL: no client round trips per row).
//
// 1,000 organizations with skewed sizes: the benchmark's own organization (the one the filter
// figures query) holds 30% of the rows, the other 999 share the rest by a Zipf law (rank k gets
// a share proportional to 1/k). An organization with n rows has n/5 phones (phoneForIndex(0 ..
// n/5-1)), each with about 5 events of 5 types, spread over the 90 days before asOf; row g of an
// organization happened g × (90 days / n) before asOf, so the newest rows are loaded first and
// every step is a like-for-like slice of the full population.
//
// Each step drops lead_event's indexes, inserts, rebuilds them (a sorted build is much faster
// than 10M random B-tree inserts), then runs VACUUM ANALYZE, as autovacuum eventually would.
import { performance } from "node:perf_hooks";
import type pg from "pg";
import { note } from "./config.js";

const SPAN_MICROS = 90 * 24 * 3600 * 1e6;
const ORGS = 1000;
const BIG_SHARE = 0.3;

export interface Population {
  /** The filter figures' organization (the benchmark's own). */
  benchOrgId: number;
  orgs: { id: number; rows: number }[];
  /** Rows of each organization loaded so far, same order as orgs. */
  loaded: number[];
  /** Every loaded row happened before this instant (epoch microseconds, whole seconds). */
  asOfMicros: number;
}

/** Phones of an organization with n rows: phoneForIndex(0 .. phonesOf(n) - 1). */
export function phonesOf(rows: number): number {
  return Math.max(1, Math.floor(rows / 5));
}

export async function createPopulation(db: pg.Client, benchOrgId: number, total: number, asOfMicros: number): Promise<Population> {
  const others = ORGS - 1;
  const { rows } = await db.query<{ id: string }>(
    `insert into organization (name) select 'bench org ' || g from generate_series(1, $1::int) g returning id`,
    [others],
  );
  const ids = rows.map((r) => Number(r.id));
  const big = Math.round(total * BIG_SHARE);
  let harmonic = 0;
  for (let k = 1; k <= others; k++) harmonic += 1 / k;
  const rest = total - big;
  const sizes = ids.map((_, i) => Math.max(1, Math.floor((rest * (1 / (i + 1))) / harmonic)));
  // Rounding leftovers go to the second-largest organization.
  sizes[0]! += rest - sizes.reduce((a, b) => a + b, 0);
  const orgs = [{ id: benchOrgId, rows: big }, ...ids.map((id, i) => ({ id, rows: sizes[i]! }))];
  return { benchOrgId, orgs, loaded: orgs.map(() => 0), asOfMicros };
}

interface IndexDef {
  constraint?: string;
  name: string;
  sql: string;
}

async function leadEventIndexes(db: pg.Client): Promise<IndexDef[]> {
  const constraints = await db.query<{ conname: string; def: string }>(
    `select conname, pg_get_constraintdef(oid) as def from pg_constraint where conrelid = 'lead_event'::regclass and contype in ('p', 'u')`,
  );
  const indexes = await db.query<{ indexname: string; indexdef: string }>(`select indexname, indexdef from pg_indexes where schemaname = current_schema() and tablename = 'lead_event'`);
  const byConstraint = new Set(constraints.rows.map((c) => c.conname));
  return [
    ...constraints.rows.map((c) => ({ constraint: c.conname, name: c.conname, sql: `alter table lead_event add constraint ${c.conname} ${c.def}` })),
    ...indexes.rows.filter((i) => !byConstraint.has(i.indexname)).map((i) => ({ name: i.indexname, sql: i.indexdef })),
  ];
}

export interface LoadTiming {
  rows: number;
  insertMs: number;
  indexMs: number;
  vacuumMs: number;
  tableRows: number;
}

/** Loads each organization's rows up to `fraction` of its full size. */
export async function loadUpTo(db: pg.Client, pop: Population, fraction: number): Promise<LoadTiming> {
  const targets = pop.orgs.map((o) => Math.min(o.rows, Math.round(o.rows * fraction)));
  // Work units of at most ~1M rows, so progress shows and no statement runs for minutes.
  const units: { id: number; n: number; lo: number; hi: number }[] = [];
  pop.orgs.forEach((o, i) => {
    for (let lo = pop.loaded[i]!; lo < targets[i]!; lo += 1_000_000) units.push({ id: o.id, n: o.rows, lo, hi: Math.min(targets[i]!, lo + 1_000_000) });
  });
  const statements: (typeof units)[] = [];
  let cur: typeof units = [];
  let curRows = 0;
  for (const u of units) {
    cur.push(u);
    curRows += u.hi - u.lo;
    if (curRows >= 1_000_000) {
      statements.push(cur);
      cur = [];
      curRows = 0;
    }
  }
  if (cur.length) statements.push(cur);
  const rows = units.reduce((a, u) => a + u.hi - u.lo, 0);

  const defs = await leadEventIndexes(db);
  for (const d of defs) {
    if (d.constraint) await db.query(`alter table lead_event drop constraint ${d.constraint}`);
    else await db.query(`drop index ${d.name}`);
  }
  const asOf = new Date(pop.asOfMicros / 1000).toISOString();
  const t0 = performance.now();
  let done = 0;
  for (const st of statements) {
    await db.query(
      `insert into lead_event (organization_id, phone_e164, event_type, occurred_at, metadata, received_at)
       select o.id,
              '+1' || (201 + x.p % 799)::text || (2000000 + x.p / 799)::text,
              case when (g * 31) % 20 < 10 then 'page_view'
                   when (g * 31) % 20 < 14 then 'webinar_registered'
                   when (g * 31) % 20 < 17 then 'webinar_attended'
                   when (g * 31) % 20 < 18 then 'mastery_purchase'
                   else 'email_clicked' end,
              $5::timestamptz - interval '1 microsecond' * (g * (${SPAN_MICROS}::int8 / o.n)),
              jsonb_build_object('campaign', 'c' || (g % 97), 'source', 'bulk_load', 'n', g),
              $5::timestamptz
         from unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[]) as o(id, n, lo, hi)
        cross join lateral generate_series(o.lo + 1, o.hi) as g
        cross join lateral (select (g * 2654435761) % greatest(o.n / 5, 1) as p) x`,
      [st.map((u) => u.id), st.map((u) => u.n), st.map((u) => u.lo), st.map((u) => u.hi), asOf],
    );
    done += st.reduce((a, u) => a + u.hi - u.lo, 0);
    note(`  load: ${done.toLocaleString("en-US")} / ${rows.toLocaleString("en-US")} rows (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  const insertMs = performance.now() - t0;
  const t1 = performance.now();
  await db.query(`set maintenance_work_mem = '1GB'`);
  for (const d of defs) await db.query(d.sql);
  await db.query(`reset maintenance_work_mem`);
  const indexMs = performance.now() - t1;
  const t2 = performance.now();
  await db.query("vacuum analyze lead_event");
  // Write the load's dirty pages back now, not during the next measurements.
  await checkpoint(db);
  const vacuumMs = performance.now() - t2;
  pop.loaded = targets;
  const { rows: c } = await db.query<{ n: string }>("select count(*) as n from lead_event");
  return { rows, insertMs, indexMs, vacuumMs, tableRows: Number(c[0]!.n) };
}

/** CHECKPOINT (needs a superuser or pg_checkpoint; skipped without). */
export async function checkpoint(db: pg.Client): Promise<void> {
  try {
    await db.query("checkpoint");
  } catch {
    /* not permitted on this server: the measurements just share the machine with it */
  }
}
