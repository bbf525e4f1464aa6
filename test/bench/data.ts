// Batches of realistic, distinct events, and the same rows in every form the benchmark sends or
// copies: the REST/Connect JSON body, the protobuf message, COPY text and unnest() arrays.
// Everything is built before a clock starts.
import { create, fromJson, toBinary, type JsonObject } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { SendLeadEventsRequestSchema, type SendLeadEventsRequest } from "../../gen/leadevents/v1/lead_event_service_pb.js";

/** The server's cap on a body (10 MiB), which a 50,000-event batch must fit under in JSON and protobuf. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** A small fast seeded PRNG (mulberry32), so every run generates the same data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BenchRow {
  phone: string;
  /** RFC 3339 UTC with microseconds. */
  occurredAt: string;
  metadata: JsonObject;
  /** Compact JSON of metadata. */
  metadataJson: string;
}

export interface Batch {
  rows: BenchRow[];
  /** `[{...},{...}]`: the events array as JSON, shared by every body built from this batch. */
  eventsJson: string;
  /** Average compact metadata size in bytes. */
  metadataBytes: number;
}

const CAMPAIGNS = ["spring_webinar_2026", "mastery_launch", "black_friday", "retarget_q4", "evergreen_funnel", "challenge_5day"];
const SOURCES = ["landing_page_a", "landing_page_b", "fb_lead_ad", "google_ads", "partner_referral", "organic"];
const MEDIUMS = ["email", "sms", "cpc", "social", "display"];
const ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

function randomPhone(rand: () => number): string {
  // +1, area code NXX (2-9 then two digits), exchange NXX, four digits.
  const d = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  return `+1${d(2, 9)}${d(0, 9)}${d(0, 9)}${d(2, 9)}${d(0, 9)}${d(0, 9)}${String(d(0, 9999)).padStart(4, "0")}`;
}

function token(rand: () => number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += ALNUM[Math.floor(rand() * ALNUM.length)];
  return s;
}

/** A metadata object of exactly `bytes` bytes of compact JSON (padded with a `ref` field). */
function metadataOf(rand: () => number, bytes: number): JsonObject {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const fields: [string, JsonObject[string]][] = [
    ["campaign", pick(CAMPAIGNS)],
    ["source", pick(SOURCES)],
    ["orderId", `ord_${token(rand, 6)}`],
    ["amountUsd", [47, 97, 197, 297, 997][Math.floor(rand() * 5)]!],
    ["utm", { medium: pick(MEDIUMS), content: `cta_${Math.floor(rand() * 40)}` }],
    ["attended", rand() < 0.6],
  ];
  // All six fields come to about 150 bytes; a smaller budget keeps the fields that fit.
  const o: JsonObject = {};
  for (const [k, v] of fields) {
    o[k] = v;
    if (JSON.stringify(o).length > bytes) delete o[k];
  }
  const base = JSON.stringify(o).length;
  // ,"ref":"" is 9 bytes; pad only when there is room for it.
  const room = bytes - base - 9;
  if (room > 0) o.ref = token(rand, room);
  return o;
}

/** RFC 3339 UTC with 6 fractional digits. */
export function isoMicros(epochMicros: number): string {
  const ms = Math.floor(epochMicros / 1000);
  const us = epochMicros - ms * 1000;
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, (_m, f: string) => `.${f}${String(us).padStart(3, "0")}Z`);
}

/**
 * `count` events with distinct phones, occurredAt spread over the 30 days before `nowMicros`,
 * metadata of about `metadataBytes` bytes each. Keys stay distinct across runs because each
 * run sends them under a new event type.
 */
export function makeBatch(count: number, metadataBytes: number, seed: number, nowMicros: number): Batch {
  const rand = prng(seed);
  const seen = new Set<string>();
  const rows: BenchRow[] = new Array(count);
  const span = 30 * 24 * 3600 * 1e6;
  let metaTotal = 0;
  const parts: string[] = new Array(count);
  for (let i = 0; i < count; i++) {
    let phone = randomPhone(rand);
    while (seen.has(phone)) phone = randomPhone(rand);
    seen.add(phone);
    const occurredAt = isoMicros(nowMicros - 60e6 - Math.floor(rand() * span));
    // A little variety in size around the target, the same on average.
    const metadata = metadataOf(rand, metadataBytes + Math.floor(rand() * 9) - 4);
    const metadataJson = JSON.stringify(metadata);
    metaTotal += metadataJson.length;
    rows[i] = { phone, occurredAt, metadata, metadataJson };
    parts[i] = `{"phoneE164":"${phone}","occurredAt":"${occurredAt}","metadata":${metadataJson}}`;
  }
  return { rows, eventsJson: `[${parts.join(",")}]`, metadataBytes: metaTotal / count };
}

/** The REST / Connect JSON body of a batch under a given event type. */
export function jsonBody(organizationId: number, eventType: string, batch: Batch): Buffer {
  return Buffer.from(`{"organizationId":"${organizationId}","eventType":"${eventType}","events":${batch.eventsJson}}`);
}

/** The protobuf message of a batch (metadata as google.protobuf.Value). */
export function protoRequest(organizationId: number, eventType: string, batch: Batch): SendLeadEventsRequest {
  return create(SendLeadEventsRequestSchema, {
    organizationId: BigInt(organizationId),
    eventType,
    events: batch.rows.map((r) => ({ phoneE164: r.phone, occurredAt: r.occurredAt, metadata: fromJson(ValueSchema, r.metadata) })),
  });
}

/** The same batch with metadata as JSON text (`metadata_json`), binary callers' faster form. */
export function protoRequestMetadataJson(organizationId: number, eventType: string, batch: Batch): SendLeadEventsRequest {
  return create(SendLeadEventsRequestSchema, {
    organizationId: BigInt(organizationId),
    eventType,
    events: batch.rows.map((r) => ({ phoneE164: r.phone, occurredAt: r.occurredAt, metadataJson: r.metadataJson })),
  });
}

export function protoBytes(msg: SendLeadEventsRequest): Uint8Array {
  return toBinary(SendLeadEventsRequestSchema, msg);
}

/**
 * The largest metadata size (at most `wanted`) for which a batch of `count` events fits under
 * `limit` bytes in JSON and, when `checkProto`, in protobuf too. The figures name ~150
 * bytes; with 50,000 events that would overflow the 10 MiB cap, so the batch gets what fits.
 */
export function fittingMetadataBytes(count: number, wanted: number, limit: number, checkProto: boolean, seed: number, nowMicros: number): { bytes: number; batch: Batch; jsonBytes: number; protoBytes: number } {
  let bytes = wanted;
  // A first guess from a sample (protobuf encoding of 50,000 Values takes seconds), then the
  // full batch is checked exactly.
  const sample = Math.min(count, 2000);
  for (let attempt = 0; attempt < 6; attempt++) {
    const b = makeBatch(sample, bytes, seed, nowMicros);
    const scale = count / sample;
    const j = jsonBody(1_000_000, "bench_event_type_00", b).length * scale;
    const p = checkProto ? protoBytes(protoRequest(1_000_000, "bench_event_type_00", b)).length * scale : 0;
    const over = Math.max(j, p) - limit * 0.998;
    if (over <= 0) break;
    bytes -= Math.ceil(over / count);
  }
  for (let attempt = 0; attempt < 6; attempt++) {
    const batch = makeBatch(count, bytes, seed, nowMicros);
    const jsonBytes = jsonBody(1_000_000, "bench_event_type_00", batch).length;
    const pBytes = checkProto ? protoBytes(protoRequest(1_000_000, "bench_event_type_00", batch)).length : 0;
    const over = Math.max(jsonBytes, pBytes) - limit;
    if (over <= 0) return { bytes, batch, jsonBytes, protoBytes: pBytes };
    bytes -= Math.ceil(over / count) + 1;
  }
  throw new Error(`could not fit ${count} events under ${limit} bytes`);
}

// ---- COPY and unnest forms ----

function copyEscape(s: string): string {
  return s.replace(/[\\\t\n\r]/g, (c) => (c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r"));
}

/** COPY text format: organization_id, phone_e164, event_type, occurred_at, metadata. */
export function copyText(organizationId: number, eventType: string, batch: Batch): Buffer {
  const lines = new Array<string>(batch.rows.length);
  for (let i = 0; i < batch.rows.length; i++) {
    const r = batch.rows[i]!;
    lines[i] = `${organizationId}\t${copyEscape(r.phone)}\t${copyEscape(eventType)}\t${r.occurredAt}\t${copyEscape(r.metadataJson)}\n`;
  }
  return Buffer.from(lines.join(""));
}

/** The column arrays the service's own INSERT ... SELECT FROM unnest() takes. */
export function unnestArrays(eventType: string, batch: Batch): { phones: string[]; types: string[]; times: string[]; metadata: string[] } {
  return {
    phones: batch.rows.map((r) => r.phone),
    types: batch.rows.map(() => eventType),
    times: batch.rows.map((r) => r.occurredAt),
    metadata: batch.rows.map((r) => r.metadataJson),
  };
}

// ---- the stored population (load.ts) ----

/** The phone of index p in the loaded population: the same formula as load.ts's SQL. */
export function phoneForIndex(p: number): string {
  return `+1${201 + (p % 799)}${2_000_000 + Math.floor(p / 799)}`;
}
