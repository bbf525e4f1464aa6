// FilterAudience against the loaded population: the benchmark organization (30% of the stored
// rows), EXCLUDE webinar_attended within 120 minutes of asOf, audiences of BENCH_FILTER_SIZES
// phones: half of them phones the organization has events for (as many as it has), the rest
// phones it never saw. Up to 100,000 phones go through unary FilterAudience over Connect JSON
// (the cap of one call); larger audiences through FilterAudienceChunked (gRPC, 10,000 phones per
// message, the answer streamed back; the memory target is on it) and, for information, the older
// FilterAudienceStream (one answer at the end). Each unary figure also has a reference: the
// service's own SQL for the same phones, run directly on a connection of the benchmark (the floor
// the RPC can approach).
import { performance } from "node:perf_hooks";
import type pg from "pg";
import { ConnectError, Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { create } from "@bufbuild/protobuf";
import {
  EventFilterSchema,
  FilterAudienceChunkedRequestSchema,
  FilterAudienceRequestSchema,
  FilterAudienceStreamRequestSchema,
  FilterMode,
  LeadEventService,
  type FilterAudienceChunkedRequest,
  type FilterAudienceStreamRequest,
} from "../../gen/leadevents/v1/lead_event_service_pb.js";
import { note, type BenchConfig } from "./config.js";
import { phoneForIndex, prng } from "./data.js";
import { phonesOf, type Population } from "./load.js";
import { mb, median, seconds, spread, verdict, type Report } from "./report.js";
import { sampleMemory } from "./server.js";
import type { Transports } from "./transports.js";

export const UNARY_CAP = 100_000;
const STREAM_MESSAGE_PHONES = 10_000;
const WITHIN_MINUTES = 120;
const LOOKUP_CHUNK = 50_000;

/**
 * `size` distinct phones, shuffled: min(size/2, stored) that the organization has events for
 * (one in ten written nationally, "(201) 200-0123", as filter-audience.bench.ts does; the
 * organization's default region is US), the rest phones it never saw. `normalized` is the same
 * audience in E.164, for the SQL reference.
 */
export function audience(pop: Population, size: number, seed: number): { sent: string[]; normalized: string[] } {
  const big = pop.orgs.find((o) => o.id === pop.benchOrgId)!;
  // The organization's phones once fully loaded (a partial load stores a spread-out subset of them).
  const stored = phonesOf(big.rows);
  const known = Math.min(Math.floor(size / 2), stored);
  let stride = 7919;
  while (gcd(stride, stored) !== 1) stride += 2;
  const normalized: string[] = new Array(size);
  for (let k = 0; k < known; k++) normalized[k] = phoneForIndex((k * stride) % stored);
  // Unseen: indices past every organization's phones (the benchmark organization is the largest).
  const unseenBase = stored + 1;
  for (let k = known; k < size; k++) normalized[k] = phoneForIndex(unseenBase + k);
  const rand = prng(seed);
  for (let i = size - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [normalized[i], normalized[j]] = [normalized[j]!, normalized[i]!];
  }
  const sent = normalized.map((p, i) => (i % 10 === 3 ? `(${p.slice(2, 5)}) ${p.slice(5, 8)}-${p.slice(8)}` : p));
  return { sent, normalized };
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

type PhonesQuery = (q: { organizationId: number; phones: readonly string[]; eventType: string; window: { from: number | null; to: number } }) => { text: string; values: unknown[] };

/** The service's own query builder, if src still exports it (the floor reference is skipped otherwise). */
async function serviceQuery(): Promise<PhonesQuery | undefined> {
  try {
    const mod = (await import("../../src/db/lead-event-store.js")) as { phonesWithEventQuery?: PhonesQuery };
    return typeof mod.phonesWithEventQuery === "function" ? mod.phonesWithEventQuery : undefined;
  } catch {
    return undefined;
  }
}

interface FilterSpec {
  label: string;
  mode: "include" | "exclude";
  eventType: string;
  withinMinutes?: number;
}

/** The issue's filter: EXCLUDE webinar_attended within 120 minutes. */
const MAIN: FilterSpec = { label: "EXCLUDE webinar_attended within 120 min", mode: "exclude", eventType: "webinar_attended", withinMinutes: WITHIN_MINUTES };
/** No window: every phone's newest event of the type counts (filter-audience.bench.ts's first filter). */
const INCLUDE_ANY: FilterSpec = { label: "INCLUDE webinar_attended (any time)", mode: "include", eventType: "webinar_attended" };

async function sqlFloor(db: pg.Client, build: PhonesQuery, pop: Population, f: FilterSpec, normalized: string[]): Promise<number> {
  const sorted = [...new Set(normalized)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const window = { from: f.withinMinutes === undefined ? null : pop.asOfMicros - f.withinMinutes * 60e6, to: pop.asOfMicros };
  const t0 = performance.now();
  await db.query("begin isolation level repeatable read read only");
  try {
    for (let i = 0; i < sorted.length; i += LOOKUP_CHUNK) {
      const q = build({ organizationId: pop.benchOrgId, phones: sorted.slice(i, i + LOOKUP_CHUNK), eventType: f.eventType, window });
      await db.query(q.text, q.values);
    }
  } finally {
    await db.query("commit");
  }
  return performance.now() - t0;
}

function jsonFilterBody(pop: Population, f: FilterSpec, asOf: string, phones: string[]): Buffer {
  return Buffer.from(JSON.stringify({
    organizationId: String(pop.benchOrgId),
    filter: { mode: f.mode === "include" ? "FILTER_MODE_INCLUDE" : "FILTER_MODE_EXCLUDE", eventType: f.eventType, ...(f.withinMinutes === undefined ? {} : { withinMinutes: f.withinMinutes }) },
    asOf,
    phones,
  }));
}

/** Where FilterAudienceChunked goes (the shared Transports predate it). */
export interface FilterEndpoint {
  baseUrl: string;
  apiKey: string;
}

interface ChunkedRun {
  ms: number;
  /** From the first request to the first answer. */
  firstMs: number;
  responses: number;
  kept: number;
  audienceCount: number;
}

/** One FilterAudienceChunked call over gRPC; every answer is read (and counted) as it arrives. */
async function runChunked(ep: FilterEndpoint, messages: FilterAudienceChunkedRequest[]): Promise<ChunkedRun> {
  const client = createClient(LeadEventService, createGrpcTransport({ baseUrl: ep.baseUrl }));
  async function* gen() {
    for (const m of messages) yield m;
  }
  const t0 = performance.now();
  let firstMs = 0;
  let responses = 0;
  let kept = 0;
  let summary: { audienceCount: number; keptCount: number } | undefined;
  for await (const res of client.filterAudienceChunked(gen(), { headers: { authorization: `Bearer ${ep.apiKey}` } })) {
    if (responses++ === 0) firstMs = performance.now() - t0;
    kept += res.keptPhones.length;
    summary = res.summary;
  }
  const ms = performance.now() - t0;
  if (!summary) throw new Error("FilterAudienceChunked ended without a summary");
  if (summary.keptCount !== kept) throw new Error(`FilterAudienceChunked: summary says ${summary.keptCount} kept, responses listed ${kept}`);
  return { ms, firstMs, responses, kept, audienceCount: summary.audienceCount };
}

/** An audience in messages of STREAM_MESSAGE_PHONES, the first one carrying the filter. */
function streamMessages<T>(phones: string[], head: (phones: string[]) => T, rest: (phones: string[]) => T): T[] {
  const out: T[] = [];
  for (let i = 0; i < phones.length; i += STREAM_MESSAGE_PHONES) out.push((i === 0 ? head : rest)(phones.slice(i, i + STREAM_MESSAGE_PHONES)));
  return out;
}

export async function measureFilter(report: Report, cfg: BenchConfig, t: Transports, db: pg.Client, pid: number, pop: Population, ep: FilterEndpoint): Promise<void> {
  const asOf = new Date(pop.asOfMicros / 1000).toISOString();
  const build = await serviceQuery();
  let unaryPeak: number | undefined;

  /** One unary figure: p50 of BENCH_FILTER_REPEAT calls after one warm-up, and the SQL alone. */
  const unary = async (size: number, f: FilterSpec, transport: "Connect JSON" | "gRPC", phones: { sent: string[]; normalized: string[] }, targeted: boolean) => {
    const label = `FilterAudience ${size.toLocaleString("en-US")} phones, ${f.label} (${transport}), p50`;
    try {
      const body = jsonFilterBody(pop, f, asOf, phones.sent);
      const msg = create(FilterAudienceRequestSchema, {
        organizationId: BigInt(pop.benchOrgId),
        filter: { mode: f.mode === "include" ? FilterMode.INCLUDE : FilterMode.EXCLUDE, eventType: f.eventType, withinMinutes: f.withinMinutes },
        asOf,
        phones: phones.sent,
      });
      const call = () => (transport === "gRPC" ? t.filterGrpc(msg) : t.filterJson(body));
      await call();
      const ms: number[] = [];
      const sql: number[] = [];
      let kept = 0;
      let peak = 0;
      for (let i = 0; i < cfg.filterRepeat; i++) {
        const r = await sampleMemory(pid, call);
        if (r.result.value.audienceCount !== size) throw new Error(`FilterAudience answered audienceCount ${r.result.value.audienceCount} for ${size} phones`);
        kept = r.result.value.keptCount;
        peak = Math.max(peak, r.peak - r.baseline);
        ms.push(r.result.ms);
        if (build) sql.push(await sqlFloor(db, build, pop, f, phones.normalized));
        note(`  ${label}: ${r.result.ms.toFixed(0)} ms${build ? `, SQL ${sql.at(-1)!.toFixed(0)} ms` : ""}, kept ${kept}`);
      }
      const p50 = median(ms);
      report.add({
        figure: label,
        value: spread(ms),
        reference: build ? `SQL alone ${seconds(median(sql))}; kept ${kept.toLocaleString("en-US")}` : `kept ${kept.toLocaleString("en-US")}`,
        ratio: build ? `${(p50 / median(sql)).toFixed(2)}× SQL` : "",
        target: targeted ? "p50 ≤ 1 s" : "",
        verdict: targeted ? verdict(p50 <= 1000) : "info",
      });
      return peak;
    } catch (err) {
      report.error(label, err, targeted ? "p50 ≤ 1 s" : "");
      return undefined;
    }
  };

  for (const size of cfg.filterSizes) {
    const phones = audience(pop, size, 1000 + size);
    const label = size.toLocaleString("en-US");
    if (size <= UNARY_CAP) {
      const peak = await unary(size, MAIN, "Connect JSON", phones, size === UNARY_CAP);
      if (size === UNARY_CAP) {
        unaryPeak = peak;
        await unary(size, MAIN, "gRPC", phones, false);
        await unary(size, INCLUDE_ANY, "Connect JSON", phones, false);
      }
      continue;
    }
    // Larger than one call: the streamed forms. FilterAudienceChunked first (the target), on a
    // server whose heap FilterAudienceStream's large answer has not yet grown.
    const filterOf = (f: FilterSpec) => create(EventFilterSchema, { mode: f.mode === "include" ? FilterMode.INCLUDE : FilterMode.EXCLUDE, eventType: f.eventType, withinMinutes: f.withinMinutes });
    const chunkedMessages = (f: FilterSpec) =>
      streamMessages(phones.sent,
        (p) => create(FilterAudienceChunkedRequestSchema, { organizationId: BigInt(pop.benchOrgId), filter: filterOf(f), asOf, phones: p }),
        (p) => create(FilterAudienceChunkedRequestSchema, { phones: p }));
    const runs = Math.min(cfg.filterRepeat, 3);
    let chunkedWorst: number | undefined;
    try {
      const messages = chunkedMessages(MAIN);
      const ms: number[] = [];
      const first: number[] = [];
      const growth: number[] = [];
      let answers = 0;
      for (let i = 0; i < runs; i++) {
        const r = await sampleMemory(pid, () => runChunked(ep, messages));
        if (r.result.audienceCount !== size) throw new Error(`FilterAudienceChunked answered audienceCount ${r.result.audienceCount} for ${size} phones`);
        ms.push(r.result.ms);
        first.push(r.result.firstMs);
        growth.push(r.peak - r.baseline);
        answers = r.result.responses;
        note(`  filter chunked ${label}: ${r.result.ms.toFixed(0)} ms (first answer after ${r.result.firstMs.toFixed(0)} ms, ${r.result.responses} answers), kept ${r.result.kept}, peak RSS growth ${mb(r.peak - r.baseline)}`);
      }
      report.add({
        figure: `FilterAudienceChunked ${label} phones, ${MAIN.label} (gRPC, ${STREAM_MESSAGE_PHONES.toLocaleString("en-US")}/message, answers streamed back), p50`,
        value: spread(ms),
        reference: `${(size / (median(ms) / 1000)).toFixed(0)} phones/s; first answer after ${seconds(median(first))}; ${answers} answers`,
        ratio: "",
        target: "",
        verdict: "info",
      });
      chunkedWorst = Math.max(...growth);
      report.add({
        figure: `FilterAudienceChunked ${label} phones: peak server RSS growth (worst run)`,
        value: mb(chunkedWorst),
        reference: unaryPeak === undefined ? `runs: ${growth.map(mb).join(", ")}` : `runs: ${growth.map(mb).join(", ")}; unary ${UNARY_CAP.toLocaleString("en-US")}: ${mb(unaryPeak)}`,
        ratio: "",
        target: "flat: ≤ 250 MB",
        verdict: verdict(chunkedWorst <= 250 * 1024 * 1024),
      });
      // The same audience with a small answer: what the stream holds besides its answer. One run.
      const inc = await sampleMemory(pid, () => runChunked(ep, chunkedMessages(INCLUDE_ANY)));
      note(`  filter chunked ${label} INCLUDE: ${inc.result.ms.toFixed(0)} ms, kept ${inc.result.kept}, peak RSS growth ${mb(inc.peak - inc.baseline)}`);
      report.add({
        figure: `FilterAudienceChunked ${label} phones, ${INCLUDE_ANY.label}: peak server RSS growth (1 run)`,
        value: mb(inc.peak - inc.baseline),
        reference: `kept ${inc.result.kept.toLocaleString("en-US")} (small answer); ${seconds(inc.result.ms)}`,
        ratio: "",
        target: "",
        verdict: "info",
      });
    } catch (err) {
      const e = ConnectError.from(err);
      if (e.code === Code.Unimplemented) {
        report.add({ figure: `FilterAudienceChunked ${label} phones`, value: "n/a (not implemented)", reference: "", ratio: "", target: "flat: ≤ 250 MB", verdict: "n/a" });
      } else {
        report.error(`FilterAudienceChunked ${label} phones`, err, "flat: ≤ 250 MB");
      }
    }

    // The older client-streaming form, for information: its one answer holds every kept phone.
    const messages: FilterAudienceStreamRequest[] = streamMessages(phones.sent,
      (p) => create(FilterAudienceStreamRequestSchema, { organizationId: BigInt(pop.benchOrgId), filter: filterOf(MAIN), asOf, phones: p }),
      (p) => create(FilterAudienceStreamRequestSchema, { phones: p }));
    try {
      const ms: number[] = [];
      const growth: number[] = [];
      for (let i = 0; i < Math.min(runs, 2); i++) {
        const r = await sampleMemory(pid, () => t.filterStream(messages));
        if (r.result.value.audienceCount !== size) throw new Error(`FilterAudienceStream answered audienceCount ${r.result.value.audienceCount} for ${size} phones`);
        ms.push(r.result.ms);
        growth.push(r.peak - r.baseline);
        note(`  filter stream ${label}: ${r.result.ms.toFixed(0)} ms, kept ${r.result.value.keptCount}, peak RSS growth ${mb(r.peak - r.baseline)}`);
      }
      report.add({
        figure: `FilterAudienceStream ${label} phones, ${MAIN.label} (gRPC, ${STREAM_MESSAGE_PHONES.toLocaleString("en-US")}/message, one answer at the end), p50`,
        value: spread(ms),
        reference: `${(size / (median(ms) / 1000)).toFixed(0)} phones/s`,
        ratio: "",
        target: "",
        verdict: "info",
      });
      report.add({
        figure: `FilterAudienceStream ${label} phones: peak server RSS growth (worst run)`,
        value: mb(Math.max(...growth)),
        reference: `runs: ${growth.map(mb).join(", ")}; the answer (every kept phone) is built and encoded whole${chunkedWorst === undefined ? "" : `; FilterAudienceChunked: ${mb(chunkedWorst)}`}`,
        ratio: "",
        target: "",
        verdict: "info",
      });
    } catch (err) {
      report.error(`FilterAudienceStream ${label} phones`, err);
    }
  }

  // The organization's catalog (filter-audience.bench.ts times it too): a pass over its rows.
  try {
    const ms: number[] = [];
    let types = 0;
    for (let i = 0; i < Math.min(cfg.filterRepeat, 3); i++) {
      const r = await t.listEventTypesGrpc(pop.benchOrgId);
      ms.push(r.ms);
      types = r.value;
    }
    const big = pop.orgs.find((o) => o.id === pop.benchOrgId)!;
    report.add({ figure: `ListEventTypes of the benchmark organization (gRPC), p50`, value: spread(ms), reference: `${types} types over ${big.rows.toLocaleString("en-US")}+ rows`, ratio: "", target: "", verdict: "info" });
  } catch (err) {
    report.error("ListEventTypes", err);
  }

  // QueryLeadEvents pages of the benchmark organization (the largest). lead_event has no index
  // but its primary key (organization, phone, type, time): a page of one phone reads that phone's
  // range; a page without a phone reads the organization's whole key range (the price of an
  // ingest without a secondary index, README "Storage").
  const big = pop.orgs.find((o) => o.id === pop.benchOrgId)!;
  const pages: { label: string; q: { phoneE164?: string; eventType?: string }; second?: boolean }[] = [
    { label: "one phone", q: { phoneE164: phoneForIndex(0) } },
    { label: "one type (mastery_purchase, ~5% of the rows)", q: { eventType: "mastery_purchase" } },
    { label: "one type, second page", q: { eventType: "mastery_purchase" }, second: true },
    { label: "all types", q: {} },
  ];
  for (const page of pages) {
    try {
      const ms: number[] = [];
      let events = 0;
      for (let i = 0; i < 3; i++) {
        let pageToken: string | undefined;
        if (page.second) pageToken = (await t.queryEventsGrpc({ organizationId: pop.benchOrgId, ...page.q })).value.nextPageToken;
        const r = await t.queryEventsGrpc({ organizationId: pop.benchOrgId, ...page.q, pageToken });
        ms.push(r.ms);
        events = r.value.events;
      }
      report.add({
        figure: `QueryLeadEvents page of 100, ${page.label}, p50`,
        value: spread(ms),
        reference: `${events} events; organization of ${big.rows.toLocaleString("en-US")}+ rows, primary key only`,
        ratio: "",
        target: "",
        verdict: "info",
      });
    } catch (err) {
      report.error(`QueryLeadEvents ${page.label}`, err);
    }
  }
}
