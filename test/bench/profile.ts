// BENCH_PROFILE=1: a second server child started with --cpu-prof, a warm-up batch, then REST
// 50k ingests, their re-sends, single-event requests one after the other, and gRPC 50k ingests;
// on exit V8 writes a .cpuprofile, which is summarized here by self time (per function, and per
// file or package), separately for each window (V8's profile clock and
// process.hrtime are both CLOCK_MONOTONIC on Linux, so the windows line up).
import fs from "node:fs";
import path from "node:path";
import { note } from "./config.js";
import type { Batch } from "./data.js";
import { jsonBody, makeBatch, protoBytes, protoRequest } from "./data.js";
import { freshType } from "./ingest.js";
import { median, seconds } from "./report.js";
import { startServer } from "./server.js";
import { createTransports } from "./transports.js";

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  windowed: boolean;
  byFunction: { name: string; where: string; ms: number; pct: number }[];
  byFile: { where: string; ms: number; pct: number }[];
}

function shortUrl(url: string, root: string): string {
  if (!url) return "(native)";
  let u = url.replace(/^file:\/\//, "");
  if (u.startsWith(root)) u = u.slice(root.length + 1);
  const nm = u.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = u.slice(nm + "node_modules/".length).split("/");
    return `${rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]} (npm)`;
  }
  if (u.startsWith("node:")) return u;
  return u;
}

export function summarizeProfile(file: string, root: string, window?: { fromUs: number; toUs: number }): ProfileSummary {
  const prof = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = prof.startTime;
  let total = 0;
  const windowed = window !== undefined && window.fromUs >= prof.startTime && window.toUs <= prof.endTime;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i]!;
    if (windowed && (t < window!.fromUs || t > window!.toUs)) continue;
    // A sample stands for the time until the next one.
    const dt = (prof.timeDeltas[i + 1] ?? 0) / 1000;
    self.set(prof.samples[i]!, (self.get(prof.samples[i]!) ?? 0) + dt);
  }
  const fn = new Map<string, { name: string; where: string; ms: number }>();
  const files = new Map<string, number>();
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    const cf = n.callFrame;
    const name = cf.functionName || (cf.url ? "(anonymous)" : "(program)");
    if (name === "(idle)") continue;
    total += ms;
    // tsx emits each TypeScript file as one line: a line number there says nothing.
    const where = cf.url ? `${shortUrl(cf.url, root)}${cf.lineNumber > 0 ? `:${cf.lineNumber + 1}` : ""}` : "";
    const key = `${name}@${where}`;
    const e = fn.get(key) ?? { name, where, ms: 0 };
    e.ms += ms;
    fn.set(key, e);
    const f = cf.url ? shortUrl(cf.url, root) : name;
    files.set(f, (files.get(f) ?? 0) + ms);
  }
  const pct = (ms: number) => (100 * ms) / total;
  return {
    totalMs: total,
    windowed,
    byFunction: [...fn.values()].sort((a, b) => b.ms - a.ms).slice(0, 25).map((e) => ({ ...e, pct: pct(e.ms) })),
    byFile: [...files.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([where, ms]) => ({ where, ms, pct: pct(ms) })),
  };
}

export function profileMarkdown(s: ProfileSummary, title: string, context: string): string {
  const out = [`## ${title}`, "", context, "",
    `Busy (non-idle) CPU time in the ${s.windowed ? "measured window" : "whole profile (window not found)"}: ${seconds(s.totalMs)}`, "",
    "### Top functions by self time", "", "| self ms | % | function | where |", "|---:|---:|---|---|"];
  for (const f of s.byFunction) out.push(`| ${f.ms.toFixed(0)} | ${f.pct.toFixed(1)} | ${f.name.replace(/\|/g, "\\|")} | ${f.where} |`);
  out.push("", "### Self time by file or package", "", "| self ms | % | file / package |", "|---:|---:|---|");
  for (const f of s.byFile) out.push(`| ${f.ms.toFixed(0)} | ${f.pct.toFixed(1)} | ${f.where} |`);
  return out.join("\n") + "\n";
}

/** Runs the profiled server, `runs` measured REST ingests, and returns the summary's markdown. */
export async function profileRestIngest(opts: { root: string; databaseUrl: string; tmpDir: string; logLevel: string; apiKey: string; orgId: number; batch: Batch; runs: number; outFile: string }): Promise<string> {
  const dir = path.join(opts.tmpDir, "cpu-profile");
  fs.mkdirSync(dir, { recursive: true });
  const server = await startServer({ root: opts.root, databaseUrl: opts.databaseUrl, dataDir: path.join(opts.tmpDir, "server-profiled"), logLevel: opts.logLevel, cpuProfDir: dir });
  const t = createTransports(server.baseUrl, opts.apiKey);
  const ms: number[] = [];
  const singleMs: number[] = [];
  const SINGLES = 2000;
  let window: { fromUs: number; toUs: number } | undefined;
  let singleWindow: { fromUs: number; toUs: number } | undefined;
  const resendMs: number[] = [];
  let resendWindow: { fromUs: number; toUs: number } | undefined;
  const grpcMs: number[] = [];
  let grpcWindow: { fromUs: number; toUs: number } | undefined;
  try {
    await t.restSend(jsonBody(opts.orgId, freshType("profile_warm"), opts.batch));
    const bodies = Array.from({ length: opts.runs }, () => jsonBody(opts.orgId, freshType("profile"), opts.batch));
    const from = process.hrtime.bigint();
    for (const body of bodies) {
      const r = await t.restSend(body);
      if (r.value.inserted !== opts.batch.rows.length) throw new Error(`profiled ingest: unexpected answer ${JSON.stringify(r.value)}`);
      ms.push(r.ms);
    }
    window = { fromUs: Number(from / 1000n), toUs: Number(process.hrtime.bigint() / 1000n) };
    // The same bodies again: every row is stored already.
    const fromResend = process.hrtime.bigint();
    for (const body of bodies) {
      const r = await t.restSend(body);
      if (r.value.duplicates !== opts.batch.rows.length) throw new Error(`profiled re-send: unexpected answer ${JSON.stringify(r.value)}`);
      resendMs.push(r.ms);
    }
    resendWindow = { fromUs: Number(fromResend / 1000n), toUs: Number(process.hrtime.bigint() / 1000n) };
    const singles = makeBatch(SINGLES + 200, 120, 77, Date.now() * 1000);
    const type = freshType("profile_single");
    const singleBodies = singles.rows.map((r) => jsonBody(opts.orgId, type, { rows: [r], eventsJson: `[{"phoneE164":"${r.phone}","occurredAt":"${r.occurredAt}","metadata":${r.metadataJson}}]`, metadataBytes: 0 }));
    for (const body of singleBodies.slice(0, 200)) await t.restSend(body);
    const from2 = process.hrtime.bigint();
    for (const body of singleBodies.slice(200)) singleMs.push((await t.restSend(body)).ms);
    singleWindow = { fromUs: Number(from2 / 1000n), toUs: Number(process.hrtime.bigint() / 1000n) };
    // gRPC with google.protobuf.Value metadata, bytes serialized before the window.
    const base = protoRequest(opts.orgId, "placeholder", opts.batch);
    await t.grpcSendBytes(protoBytes({ ...base, eventType: freshType("profile_grpc_warm") }));
    const grpcBodies = Array.from({ length: opts.runs }, () => protoBytes({ ...base, eventType: freshType("profile_grpc") }));
    const from3 = process.hrtime.bigint();
    for (const bytes of grpcBodies) {
      const r = await t.grpcSendBytes(bytes);
      if (r.value.inserted !== opts.batch.rows.length) throw new Error(`profiled gRPC ingest: unexpected answer ${JSON.stringify(r.value)}`);
      grpcMs.push(r.ms);
    }
    grpcWindow = { fromUs: Number(from3 / 1000n), toUs: Number(process.hrtime.bigint() / 1000n) };
  } finally {
    t.close();
    await server.stop();
  }
  const file = fs.readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")).map((f) => path.join(dir, f))[0];
  if (!file) throw new Error("the profiled server wrote no .cpuprofile");
  const batches = summarizeProfile(file, opts.root, window);
  const resends = summarizeProfile(file, opts.root, resendWindow);
  const single = summarizeProfile(file, opts.root, singleWindow);
  const grpc = summarizeProfile(file, opts.root, grpcWindow);
  const md = [
    "# CPU profile of the server (BENCH_PROFILE=1)",
    "",
    "Written by `BENCH_PROFILE=1 npm run bench`: the server child runs with `--cpu-prof`; self time is summed per function from the .cpuprofile samples taken in each window. Profiling slows the server: compare shares, not times.",
    "",
    profileMarkdown(batches, "REST 50k batches", `${opts.runs} × REST ${opts.batch.rows.length.toLocaleString("en-US")}-event batches after one warm-up batch; median ${seconds(median(ms))} per batch under the profiler; busy server CPU per batch ${seconds(batches.totalMs / opts.runs)}.`),
    profileMarkdown(resends, "REST 50k re-sends (all duplicates)", `The same ${opts.runs} bodies again; median ${seconds(median(resendMs))} per batch under the profiler; busy server CPU per batch ${seconds(resends.totalMs / opts.runs)}.`),
    profileMarkdown(grpc, "gRPC 50k batches (google.protobuf.Value metadata)", `${opts.runs} × gRPC ${opts.batch.rows.length.toLocaleString("en-US")}-event batches, bytes serialized before the window; median ${seconds(median(grpcMs))} per batch under the profiler; busy server CPU per batch ${seconds(grpc.totalMs / opts.runs)}.`),
    profileMarkdown(single, "Single events", `${SINGLES} one-event REST requests one after the other (after 200 unmeasured), median ${median(singleMs).toFixed(2)} ms each under the profiler; busy CPU per request ${(single.totalMs / SINGLES).toFixed(2)} ms.`),
  ].join("\n");
  fs.writeFileSync(opts.outFile, md);
  note(`profile written to ${path.relative(opts.root, opts.outFile)}`);
  return md;
}
