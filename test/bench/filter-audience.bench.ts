// Benchmark of the campaign filter (not part of npm test):
//
//   npx tsx test/bench/filter-audience.bench.ts
//
// Loads BENCH_EVENTS events (default 10,000,000) across BENCH_ORGS organizations (default 1,000)
// with Zipf-skewed sizes (organization k gets a share proportional to 1/k), entirely in
// PostgreSQL with generate_series, into a fresh database; then starts a real server on a
// loopback port and times FilterAudience for BENCH_AUDIENCE phones (default 100,000) against
// the largest organization, BENCH_RUNS times each (default 7, after one warm-up), over gRPC and
// Connect JSON, plus FilterAudienceChunked and FilterAudienceStream for BENCH_STREAM phones
// (default 1,000,000; 0 skips them), the SQL alone, and ListEventTypes for the same organization.
// Prints one table.
//
// Database: DATABASE_URL (a server where it may create and drop a database), or else an
// embedded PostgreSQL in a temporary folder. BENCH_KEEP=1 keeps the database afterwards.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { create } from "@bufbuild/protobuf";
import {
  FilterAudienceChunkedRequestSchema,
  FilterAudienceStreamRequestSchema,
  FilterMode,
  LeadEventService,
  type FilterAudienceChunkedRequest,
  type FilterAudienceStreamRequest,
} from "../../gen/leadevents/v1/lead_event_service_pb.js";
import { createApp } from "../../src/app.js";
import { createLogger } from "../../src/logger.js";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../../src/db/embedded-postgres.js";
import { createApiKey } from "../../src/service/api-keys.js";
import { phonesWithEventQuery } from "../../src/db/lead-event-store.js";
import { filterWindow } from "../../src/domain/audience.js";
import { createPhoneNormalizer } from "../../src/domain/phone.js";
import { parseRfc3339 } from "../../src/domain/timestamp.js";

const EVENTS = intEnv("BENCH_EVENTS", 10_000_000);
const ORGS = intEnv("BENCH_ORGS", 1_000);
const AUDIENCE = intEnv("BENCH_AUDIENCE", 100_000);
const RUNS = intEnv("BENCH_RUNS", 7);
const STREAM = intEnv("BENCH_STREAM", 1_000_000);
const KEEP = process.env.BENCH_KEEP === "1";
const AS_OF = "2026-11-30T20:00:00Z";
/** Events per phone, on average, in every organization. */
const EVENTS_PER_PHONE = 4;

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name]?.replaceAll("_", "");
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a whole number, got ${raw}`);
  return n;
}

const log = createLogger("warn", { service: "leadevents-bench" }, (l) => process.stderr.write(l + "\n"));
const say = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const fmt = (n: number) => n.toLocaleString("en-US");

/** Organization k (1-based) gets a share of the events proportional to 1/k. */
function skewedSizes(total: number, orgs: number): number[] {
  const weights = Array.from({ length: orgs }, (_, k) => 1 / (k + 1));
  const sum = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.max(1, Math.floor((total * w) / sum)));
  sizes[0]! += total - sizes.reduce((a, b) => a + b, 0);
  return sizes;
}

// One organization's events, generated in PostgreSQL. Phone p of n/EVENTS_PER_PHONE gets its k-th
// event k * 20 days (plus a per-phone offset) before asOf, so (phone, occurred_at) is unique and
// the primary key never conflicts. Types follow a skewed mix; a quarter carry small metadata.
const LOAD_SQL = `
  insert into lead_event (organization_id, phone_e164, event_type, occurred_at, metadata)
  select $1,
         '+1201' || (2000000 + g % $3)::text,
         case when (g * 31) % 20 < 10 then 'page_view'
              when (g * 31) % 20 < 14 then 'webinar_registered'
              when (g * 31) % 20 < 17 then 'webinar_attended'
              when (g * 31) % 20 < 18 then 'mastery_purchase'
              else 'email_clicked' end,
         $4::timestamptz - ((g / $3) * 20 * 86400 + ((g % $3)::int8 * 7919) % (20 * 86400)) * interval '1 second',
         case when g % 4 = 0 then '{"utm_source":"bench"}'::jsonb end
    from generate_series(0, $2 - 1) as g`;

async function load(pool: pg.Pool, orgIds: number[], sizes: number[]): Promise<number> {
  const started = performance.now();
  let next = 0;
  let done = 0;
  let lastReport = started;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= orgIds.length) return;
      const n = sizes[i]!;
      const phones = Math.max(1, Math.ceil(n / EVENTS_PER_PHONE));
      await pool.query(LOAD_SQL, [orgIds[i], n, phones, AS_OF]);
      done += n;
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        say(`loaded ${fmt(done)} of ${fmt(EVENTS)} events (${Math.round((done / EVENTS) * 100)}%)`);
      }
    }
  };
  await Promise.all([worker(), worker()]);
  return performance.now() - started;
}

/** The audience: 70% phones of the big organization (10% of them written nationally), 30% unknown. */
function audience(size: number, orgPhones: number, seed: number): string[] {
  let x = seed >>> 0 || 1;
  const rand = () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), (x >>> 0) / 2 ** 32);
  return Array.from({ length: size }, () => {
    if (rand() < 0.3) return `+1202${2000000 + Math.floor(rand() * 8_000_000)}`;
    const p = 2000000 + Math.floor(rand() * orgPhones);
    if (rand() < 0.1) {
      const s = String(p);
      return `(201) ${s.slice(0, 3)}-${s.slice(3)}`;
    }
    return `+1201${p}`;
  });
}

function stats(ms: number[]): { p50: number; min: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: s[Math.floor((s.length - 1) / 2)]!, min: s[0]!, max: s[s.length - 1]! };
}

async function time(runs: number, fn: () => Promise<number>): Promise<{ ms: number[]; kept: number }> {
  let kept = await fn(); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    kept = await fn();
    ms.push(performance.now() - t);
  }
  return { ms, kept };
}

async function main(): Promise<void> {
  let embedded: EmbeddedPostgres | undefined;
  let tmp: string | undefined;
  let adminUrl = process.env.DATABASE_URL?.trim();
  if (!adminUrl) {
    tmp = path.join(os.tmpdir(), `leadevents-bench-${randomBytes(4).toString("hex")}`);
    fs.mkdirSync(tmp, { recursive: true, mode: 0o755 });
    say(`starting an embedded PostgreSQL in ${tmp}`);
    embedded = await startEmbeddedPostgres({ dataDir: tmp, database: "postgres", log });
    adminUrl = embedded.adminUrl;
  }
  const dbName = `leadevents_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  const databaseUrl = u.toString();

  const app = await createApp(
    { port: 0, host: "127.0.0.1", databaseUrl, dataDir: tmp ?? "/nonexistent", logLevel: "warn", secretKey: undefined, dbPoolSize: 10, shutdownGraceMs: 5_000, asyncCommit: false },
    { log },
  );
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const rows: string[][] = [];
  try {
    const { rows: orgRows } = await pool.query<{ id: string }>(
      `insert into organization (name, default_region) select 'bench ' || k, 'US' from generate_series(1, $1) k returning id`,
      [ORGS],
    );
    const orgIds = orgRows.map((r) => Number(r.id)).sort((a, b) => a - b);
    const sizes = skewedSizes(EVENTS, ORGS);
    const bigOrg = orgIds[0]!;
    const bigPhones = Math.ceil(sizes[0]! / EVENTS_PER_PHONE);
    say(`loading ${fmt(EVENTS)} events into ${fmt(ORGS)} organizations (largest ${fmt(sizes[0]!)}, median ${fmt(sizes[Math.floor(ORGS / 2)]!)}, smallest ${fmt(sizes[ORGS - 1]!)})`);
    const loadMs = await load(pool, orgIds, sizes);
    const vacuumStarted = performance.now();
    await pool.query("vacuum (analyze) lead_event");
    const vacuumMs = performance.now() - vacuumStarted;
    const { rows: sizeRows } = await pool.query<{ total: string; table: string; pkey: string }>(
      `select pg_size_pretty(pg_total_relation_size('lead_event')) as total,
              pg_size_pretty(pg_relation_size('lead_event')) as table,
              pg_size_pretty(pg_relation_size('lead_event_pkey')) as pkey`,
    );
    say(`loaded in ${(loadMs / 1000).toFixed(1)} s (${fmt(Math.round(EVENTS / (loadMs / 1000)))} rows/s), vacuum analyze ${(vacuumMs / 1000).toFixed(1)} s; lead_event ${sizeRows[0]!.total} (heap ${sizeRows[0]!.table}, pkey ${sizeRows[0]!.pkey})`);

    const port = await app.listen();
    const baseUrl = `http://127.0.0.1:${port}`;
    const { secret } = await createApiKey(app.ctx, bigOrg, "bench", ["read"]);
    const headers = { authorization: `Bearer ${secret}` };
    const grpc = createClient(LeadEventService, createGrpcTransport({ baseUrl, readMaxBytes: 256 * 1024 * 1024 }));
    const phones = audience(AUDIENCE, bigPhones, 42);

    const filters = [
      { label: "INCLUDE webinar_attended", filter: { mode: FilterMode.INCLUDE, eventType: "webinar_attended" } },
      { label: "EXCLUDE mastery_purchase (sticky)", filter: { mode: FilterMode.EXCLUDE, eventType: "mastery_purchase" } },
      { label: "EXCLUDE webinar_attended within 120", filter: { mode: FilterMode.EXCLUDE, eventType: "webinar_attended", withinMinutes: 120 } },
    ];
    const modeName = (m: FilterMode) => (m === FilterMode.INCLUDE ? "FILTER_MODE_INCLUDE" : "FILTER_MODE_EXCLUDE");

    for (const f of filters) {
      say(`timing ${f.label}`);
      const viaGrpc = await time(RUNS, async () => (await grpc.filterAudience({ organizationId: BigInt(bigOrg), filter: f.filter, asOf: AS_OF, phones }, { headers })).keptCount);
      rows.push([f.label, "gRPC", fmt(AUDIENCE), fmt(viaGrpc.kept), ...timings(viaGrpc.ms)]);
      const body = JSON.stringify({ organizationId: String(bigOrg), filter: { ...f.filter, mode: modeName(f.filter.mode) }, asOf: AS_OF, phones });
      const viaJson = await time(RUNS, async () => {
        const res = await fetch(`${baseUrl}/leadevents.v1.LeadEventService/FilterAudience`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body });
        const json = (await res.json()) as { keptCount?: number; message?: string };
        if (res.status !== 200) throw new Error(`FilterAudience answered ${res.status}: ${json.message}`);
        return json.keptCount ?? 0;
      });
      rows.push([f.label, "Connect JSON", fmt(AUDIENCE), fmt(viaJson.kept), ...timings(viaJson.ms)]);
    }

    // The SQL alone, as the service runs it: sorted distinct normalized phones, 50,000 per query.
    const normalize = createPhoneNormalizer({ defaultRegion: "US", strict: false });
    const distinct = [...new Set(phones.map((p) => normalize(p)).filter((p): p is string => p !== null))].sort();
    const asOf = parseRfc3339(AS_OF);
    if (!asOf.ok) throw new Error(asOf.detail);
    const sqlOnly = await time(RUNS, async () => {
      let matched = 0;
      for (let i = 0; i < distinct.length; i += 50_000) {
        const q = phonesWithEventQuery({ organizationId: bigOrg, phones: distinct.slice(i, i + 50_000), eventType: "webinar_attended", window: filterWindow(asOf.micros, undefined) });
        matched += (await pool.query(q.text, q.values)).rowCount ?? 0;
      }
      return matched;
    });
    rows.push(["INCLUDE webinar_attended, SQL only", "pg", fmt(distinct.length), fmt(sqlOnly.kept), ...timings(sqlOnly.ms)]);

    say("timing ListEventTypes");
    const catalog = await time(RUNS, async () => (await grpc.listEventTypes({ organizationId: BigInt(bigOrg) }, { headers })).eventTypes.length);
    rows.push(["ListEventTypes (catalog of the organization)", "gRPC", "-", `${catalog.kept} types`, ...timings(catalog.ms)]);

    if (STREAM > 0) {
      const big = audience(STREAM, bigPhones, 7);
      const streamRuns = Math.max(1, Math.min(RUNS, 3));
      // The process's RSS, sampled while fn runs (client and server share this process).
      const rssDuring = async <T>(fn: () => Promise<T>) => {
        const before = process.memoryUsage().rss;
        let peak = before;
        const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
        try {
          return { result: await fn(), before, peak };
        } finally {
          clearInterval(sampler);
        }
      };
      const chunks = <T>(make: (phones: string[], first: boolean) => T) =>
        async function* (): AsyncGenerator<T> {
          for (let i = 0; i < big.length; i += 50_000) yield make(big.slice(i, i + 50_000), i === 0);
        };

      // FilterAudienceChunked first: the answer comes back part by part, read as it arrives.
      say(`timing FilterAudienceChunked of ${fmt(STREAM)} phones`);
      const chunkedMessages = chunks<FilterAudienceChunkedRequest>((phones, first) =>
        create(FilterAudienceChunkedRequestSchema, first ? { organizationId: BigInt(bigOrg), filter: filters[0]!.filter, asOf: AS_OF, phones } : { phones }));
      const chunked = await rssDuring(() =>
        time(streamRuns, async () => {
          let kept = 0;
          for await (const res of grpc.filterAudienceChunked(chunkedMessages(), { headers })) kept += res.keptPhones.length;
          return kept;
        }),
      );
      rows.push([`${filters[0]!.label}, streamed both ways`, "gRPC FilterAudienceChunked", fmt(STREAM), fmt(chunked.result.kept), ...timings(chunked.result.ms)]);
      say(`chunked: process RSS ${mb(chunked.before)} before, ${mb(chunked.peak)} peak (client and server share this process)`);

      say(`timing FilterAudienceStream of ${fmt(STREAM)} phones`);
      const streamMessages = chunks<FilterAudienceStreamRequest>((phones, first) =>
        create(FilterAudienceStreamRequestSchema, first ? { organizationId: BigInt(bigOrg), filter: filters[0]!.filter, asOf: AS_OF, phones } : { phones }));
      const streamed = await rssDuring(() => time(streamRuns, async () => (await grpc.filterAudienceStream(streamMessages(), { headers })).keptCount));
      rows.push([`${filters[0]!.label}, streamed`, "gRPC FilterAudienceStream", fmt(STREAM), fmt(streamed.result.kept), ...timings(streamed.result.ms)]);
      say(`stream: process RSS ${mb(streamed.before)} before, ${mb(streamed.peak)} peak (client and server share this process)`);
    }

    printTable(
      `FilterAudience against the largest of ${fmt(ORGS)} organizations (${fmt(sizes[0]!)} of ${fmt(EVENTS)} events, ${fmt(bigPhones)} phones); asOf ${AS_OF}; p50 of ${RUNS} runs after a warm-up`,
      ["filter", "transport", "audience", "kept", "p50 ms", "min ms", "max ms"],
      rows,
    );
  } finally {
    await pool.end();
    await app.close();
    if (!KEEP) await admin.query(`drop database if exists ${dbName} with (force)`).catch((err) => say(`could not drop ${dbName}: ${String(err)}`));
    else say(`kept database ${dbName}`);
    await admin.end();
    await embedded?.stop();
    if (tmp && !KEEP) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function timings(ms: number[]): string[] {
  const s = stats(ms);
  return [s.p50, s.min, s.max].map((v) => v.toFixed(0));
}

function mb(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MB`;
}

function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(" | ") + " |";
  console.log(`\n${title}\n`);
  console.log(line(header));
  console.log("|" + widths.map((w, i) => (i >= 2 ? "-".repeat(w + 1) + ":" : "-".repeat(w + 2))).join("|") + "|");
  for (const r of rows) console.log(line(r));
  console.log("");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
