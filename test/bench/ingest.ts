// 50,000-event batches over every transport, each run with fresh rows (a new event type), the
// median of BENCH_REPEAT runs, as a ratio to the median COPY of the same rows measured in the same
// run. COPY runs are interleaved with the ingest runs (twice per round) and the order of the
// transports rotates from round to round, so noise and table growth hit every figure alike.
import { performance } from "node:perf_hooks";
import type pg from "pg";
import { note, type BenchConfig } from "./config.js";
import { runReference, REFERENCE_LABELS, type ReferenceName } from "./copy-reference.js";
import { jsonBody, protoBytes, protoRequest, protoRequestMetadataJson, type Batch } from "./data.js";
import { median, ratio, spread, verdict, type Report } from "./report.js";
import type { SendCounts, Timed, Transports } from "./transports.js";
import type { SendLeadEventsRequest } from "../../gen/leadevents/v1/lead_event_service_pb.js";

/** The batch's protobuf message, built once (its event type is replaced per run). */
function lazyProto(s: IngestSetup): () => SendLeadEventsRequest {
  let msg: SendLeadEventsRequest | undefined;
  return () => (msg ??= protoRequest(s.orgId, "placeholder", s.batch));
}

/** The same with metadata_json instead of google.protobuf.Value. */
function lazyProtoMetadataJson(s: IngestSetup): () => SendLeadEventsRequest {
  let msg: SendLeadEventsRequest | undefined;
  return () => (msg ??= protoRequestMetadataJson(s.orgId, "placeholder", s.batch));
}

export interface IngestSetup {
  cfg: BenchConfig;
  t: Transports;
  db: pg.Client;
  orgId: number;
  batch: Batch;
}

type Kind = "rest" | "rest-resend" | "connect-json" | "connect-binary" | "grpc" | "connect-binary-bytes" | "grpc-bytes" | "grpc-bytes-metadata-json";

interface Figure {
  kind: Kind;
  label: string;
  /** Target as a multiple of COPY; undefined = shown for information. */
  target?: number;
}

export const INGEST_FIGURES: Figure[] = [
  { kind: "rest", label: "REST 50k new rows, end to end", target: 1.5 },
  { kind: "rest-resend", label: "REST 50k re-sent (all duplicates)", target: 1.0 },
  { kind: "connect-json", label: "Connect JSON 50k new rows", target: 2.0 },
  // "Request sent to response read": the bytes are on the wire when the clock starts, as for the
  // JSON bodies. The generated client's own serialization (protobuf-es toBinary of 50,000
  // google.protobuf.Values) happens after its clock starts and costs seconds on the client alone,
  // which no server change can recover: those rows are shown, without a target.
  { kind: "connect-binary-bytes", label: "Connect binary 50k new rows (serialized before the clock)", target: 2.0 },
  { kind: "grpc-bytes", label: "gRPC 50k new rows (serialized before the clock)", target: 2.0 },
  { kind: "grpc-bytes-metadata-json", label: "gRPC 50k new rows, metadata as metadata_json text (serialized before the clock)", target: 2.0 },
  { kind: "connect-binary", label: "Connect binary 50k, generated client (includes client toBinary)" },
  { kind: "grpc", label: "gRPC 50k, generated client (includes client toBinary)" },
];

let typeSeq = 0;
/** A fresh event type, so every run inserts rows no earlier run stored. */
export function freshType(prefix: string): string {
  return `bench_${prefix}_${Date.now().toString(36)}_${++typeSeq}`;
}

function expectCounts(what: string, got: SendCounts, n: number, duplicates: boolean): void {
  const ok = got.received === n && got.rejected === 0 && (duplicates ? got.inserted === 0 && got.duplicates === n : got.inserted === n && got.duplicates === 0);
  if (!ok) throw new Error(`${what}: unexpected answer ${JSON.stringify(got)} for ${n} ${duplicates ? "duplicate" : "new"} events`);
}

/** Sends one batch of `kind` with fresh rows; a REST run also returns its body for the re-send. */
const jsonProtoCache = new WeakMap<IngestSetup, () => SendLeadEventsRequest>();

async function sendOnce(s: IngestSetup, kind: Exclude<Kind, "rest-resend">, protoBase: () => SendLeadEventsRequest): Promise<{ ms: number; body?: Buffer }> {
  const n = s.batch.rows.length;
  if (!jsonProtoCache.has(s)) jsonProtoCache.set(s, lazyProtoMetadataJson(s));
  const lazyJson = jsonProtoCache.get(s)!;
  const type = freshType(kind.replace(/-/g, "_"));
  let r: Timed<SendCounts>;
  let body: Buffer | undefined;
  const proto = (): SendLeadEventsRequest => ({ ...protoBase(), eventType: type });
  switch (kind) {
    case "rest":
      body = jsonBody(s.orgId, type, s.batch);
      r = await s.t.restSend(body);
      break;
    case "connect-json":
      r = await s.t.connectJsonSend(jsonBody(s.orgId, type, s.batch));
      break;
    case "connect-binary":
      r = await s.t.connectBinarySend(proto());
      break;
    case "grpc":
      r = await s.t.grpcSend(proto());
      break;
    case "connect-binary-bytes":
      r = await s.t.connectBinarySendBytes(protoBytes(proto()));
      break;
    case "grpc-bytes":
      r = await s.t.grpcSendBytes(protoBytes(proto()));
      break;
    case "grpc-bytes-metadata-json":
      r = await s.t.grpcSendBytes(protoBytes({ ...lazyJson(), eventType: type }));
      break;
  }
  expectCounts(kind, r.value, n, false);
  return { ms: r.ms, body };
}

export interface IngestResult {
  /** The generated code's toBinary of the 50k message, on the client (no server involved). */
  toBinaryMs: number[];
  copyMs: number[];
  refs: Map<ReferenceName, number[]>;
  figures: Map<Kind, number[]>;
}

/** One full 50k run of each transport and one COPY, unmeasured: JIT, connections, caches. */
export async function warmUp(s: IngestSetup): Promise<void> {
  const base = lazyProto(s);
  await runReference(s.db, "copy", s.orgId, s.batch);
  for (const kind of ["rest", "connect-json", "connect-binary", "grpc", "grpc-bytes"] as const) {
    const r = await sendOnce(s, kind, base);
    note(`warm-up ${kind}: ${r.ms.toFixed(0)} ms`);
  }
}

export async function measureIngest(s: IngestSetup): Promise<IngestResult> {
  const n = s.batch.rows.length;
  const base = lazyProto(s);
  const refs = new Map<ReferenceName, number[]>();
  const figures = new Map<Kind, number[]>();
  const push = <K>(m: Map<K, number[]>, k: K, ms: number) => m.set(k, [...(m.get(k) ?? []), ms]);
  const order: Exclude<Kind, "rest-resend">[] = ["rest", "connect-json", "connect-binary", "grpc", "connect-binary-bytes", "grpc-bytes", "grpc-bytes-metadata-json"];
  const copy = async () => {
    const ms = await runReference(s.db, "copy", s.orgId, s.batch);
    push(refs, "copy", ms);
    note(`  copy: ${ms.toFixed(0)} ms`);
  };

  for (let round = 0; round < s.cfg.repeat; round++) {
    note(`ingest round ${round + 1}/${s.cfg.repeat}`);
    await copy();
    for (const ref of ["copy-json", "staging", "unnest", "copy-lead-event-indexes", "copy-into-lead-event"] as const) {
      const ms = await runReference(s.db, ref, s.orgId, s.batch);
      push(refs, ref, ms);
      note(`  ${ref}: ${ms.toFixed(0)} ms`);
    }
    const rotated = order.map((_, i) => order[(i + round) % order.length]!);
    for (let i = 0; i < rotated.length; i++) {
      if (i === rotated.length >> 1) await copy();
      const kind = rotated[i]!;
      const r = await sendOnce(s, kind, base);
      push(figures, kind, r.ms);
      note(`  ${kind}: ${r.ms.toFixed(0)} ms`);
      if (kind === "rest") {
        // The same body again: every row is now a duplicate.
        const again = await s.t.restSend(r.body!);
        expectCounts("rest-resend", again.value, n, true);
        push(figures, "rest-resend", again.ms);
        note(`  rest-resend: ${again.ms.toFixed(0)} ms`);
      }
    }
  }
  const toBinaryMs: number[] = [];
  for (let i = 0; i < Math.max(3, s.cfg.repeat); i++) {
    const msg = { ...base(), eventType: freshType("to_binary") };
    const t0 = performance.now();
    protoBytes(msg);
    toBinaryMs.push(performance.now() - t0);
  }
  return { toBinaryMs, copyMs: refs.get("copy")!, refs, figures };
}

export function reportIngest(report: Report, res: IngestResult, batch: Batch): void {
  const copy = median(res.copyMs);
  report.add({ figure: `COPY ${batch.rows.length.toLocaleString("en-US")} rows (reference)`, value: spread(res.copyMs), reference: REFERENCE_LABELS.copy, ratio: "1.00×", target: "", verdict: "info" });
  for (const ref of ["copy-json", "staging", "unnest", "copy-lead-event-indexes", "copy-into-lead-event"] as const) {
    const ms = res.refs.get(ref) ?? [];
    report.add({ figure: REFERENCE_LABELS[ref], value: spread(ms), reference: "COPY", ratio: ratio(median(ms), copy), target: "", verdict: "info" });
  }
  for (const f of INGEST_FIGURES) {
    const ms = res.figures.get(f.kind) ?? [];
    if (ms.length === 0) continue;
    const r = median(ms) / copy;
    report.add({
      figure: f.label,
      value: spread(ms),
      reference: `COPY ${(copy / 1000).toFixed(3)} s`,
      ratio: ratio(median(ms), copy),
      target: f.target === undefined ? "" : `≤ ${f.target.toFixed(1)}× COPY`,
      verdict: f.target === undefined ? "info" : verdict(r <= f.target),
    });
  }
  report.add({
    figure: "Client only: toBinary of the 50k message (generated code, no I/O)",
    value: spread(res.toBinaryMs),
    reference: "part of the generated-client rows",
    ratio: ratio(median(res.toBinaryMs), copy),
    target: "",
    verdict: "info",
  });
}

/** The growth figure: REST 50k (fresh rows) and COPY, interleaved, at the table's current size. */
export async function measureRestAtSize(s: IngestSetup): Promise<{ restMs: number[]; copyMs: number[] }> {
  const restMs: number[] = [];
  const copyMs: number[] = [];
  const base = lazyProto(s);
  for (let round = 0; round < s.cfg.repeat; round++) {
    copyMs.push(await runReference(s.db, "copy", s.orgId, s.batch));
    restMs.push((await sendOnce(s, "rest", base)).ms);
    note(`  growth round ${round + 1}: copy ${copyMs.at(-1)!.toFixed(0)} ms, rest ${restMs.at(-1)!.toFixed(0)} ms`);
  }
  return { restMs, copyMs };
}
