// Single events: BENCH_SINGLE_RATE requests/s (300) for BENCH_SINGLE_SECONDS (30) over keep-alive
// HTTP/1.1, each request a distinct one-event REST body (new rows every time).
//
// Two generators, one after the other:
// - paced (the targeted figures): one request every 1/rate s on a schedule, over a keep-alive
//   pool, each latency counted from the request's scheduled time (so a stalled server or client
//   cannot hide queueing: no coordinated omission). This is what "300 requests/s" means for
//   webhook senders, and what wrk2 does.
// - autocannon with overallRate (shown for information): autocannon splits the rate over its
//   connections as a per-connection quota per second, and each connection sends its quota back
//   to back when the second starts (lib/httpClient.js: reqsMadeThisSecond). With 32 connections
//   that is a burst of 32 concurrent requests at the start of every second, then silence: its
//   latencies are those of 32-wide bursts, not of a steady 300/s.
import http from "node:http";
import os from "node:os";
import { performance } from "node:perf_hooks";
import autocannon from "autocannon";
import { note, type BenchConfig } from "./config.js";
import { jsonBody, makeBatch, type Batch } from "./data.js";
import { freshType } from "./ingest.js";
import { median, verdict, type Report } from "./report.js";
import { REST_PATH, type Transports } from "./transports.js";
import { measureCpu } from "./server.js";

const AUTOCANNON_CONNECTIONS = 32;
const PACED_MAX_SOCKETS = 64;

function singleBodies(orgId: number, count: number, nowMicros: number, seed: number): Buffer[] {
  const batch: Batch = makeBatch(count, 120, seed, nowMicros);
  const type = freshType("single");
  return batch.rows.map((r) => jsonBody(orgId, type, { rows: [r], eventsJson: `[{"phoneE164":"${r.phone}","occurredAt":"${r.occurredAt}","metadata":${r.metadataJson}}]`, metadataBytes: 0 }));
}

interface PacedResult {
  sent: number;
  seconds: number;
  /** ms from each request's scheduled time to its whole answer, sorted. */
  latencies: number[];
  errors: number;
  non2xx: number;
  unexpected: number;
  sockets: number;
}

async function paced(baseUrl: string, apiKey: string, bodies: Buffer[], rate: number, seconds: number): Promise<PacedResult> {
  const url = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: PACED_MAX_SOCKETS });
  const sockets = new Set<unknown>();
  const count = Math.min(bodies.length, Math.round(rate * seconds));
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let unexpected = 0;
  const send = (body: Buffer, due: number) =>
    new Promise<void>((resolve) => {
      const req = http.request(
        { agent, host: url.hostname, port: url.port, path: REST_PATH, method: "POST", headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json", "content-length": String(body.length) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            latencies.push(performance.now() - due);
            if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) > 299) non2xx++;
            else if (!Buffer.concat(chunks).toString("utf8").includes('"inserted":1')) unexpected++;
            resolve();
          });
          res.on("error", () => {
            errors++;
            resolve();
          });
        },
      );
      req.on("socket", (s) => sockets.add(s));
      req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
      req.on("error", () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    // No busy wait (it would take a core from the server); a timer firing late counts against
    // the figure, since latency runs from `due`.
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(send(bodies[i]!, due));
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { sent: count, seconds: elapsed, latencies, errors, non2xx, unexpected, sockets: sockets.size };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

export async function measureSingleEvents(report: Report, cfg: BenchConfig, baseUrl: string, apiKey: string, orgId: number, t: Transports, serverPid: number, pgData: string | undefined): Promise<void> {
  const rate = cfg.singleRate;
  const seconds = cfg.singleSeconds;
  const now = Date.now() * 1000;
  // Warm the single-event path (JIT, pool) with a few hundred requests first; not measured.
  for (const body of singleBodies(orgId, 300, now, 7001)) {
    const r = await t.restSend(body);
    if (r.value.inserted !== 1) throw new Error(`single-event warm-up: unexpected answer ${JSON.stringify(r.value)}`);
  }

  // ---- paced ----
  note(`single events (paced): ${rate}/s for ${seconds} s`);
  const pacedBodies = singleBodies(orgId, Math.ceil(rate * seconds) + 10, now, 7002);
  const p = await measureCpu(serverPid, pgData, () => paced(baseUrl, apiKey, pacedBodies, rate, seconds));
  const r = p.result;
  const achieved = r.latencies.length / r.seconds;
  const errors = r.errors + r.non2xx + r.unexpected;
  const p99 = pct(r.latencies, 99);
  note(`single events (paced): ${r.sent} requests in ${r.seconds.toFixed(1)} s over ${r.sockets} sockets, p50 ${pct(r.latencies, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, errors ${r.errors}, non-2xx ${r.non2xx}, unexpected ${r.unexpected}`);
  const where = `paced every ${(1000 / rate).toFixed(2)} ms, keep-alive HTTP/1.1 (${r.sockets} sockets used), ${seconds} s`;
  report.add({
    figure: `Single events, paced: achieved rate (asked ${rate}/s)`,
    value: `${achieved.toFixed(1)} req/s`,
    reference: where,
    ratio: `${(achieved / rate).toFixed(2)}× of asked`,
    target: `≥ ${rate}/s (≥ 97%)`,
    verdict: verdict(achieved >= rate * 0.97),
  });
  report.add({ figure: "Single events, paced: p50 latency (from scheduled send)", value: `${pct(r.latencies, 50).toFixed(1)} ms`, reference: `mean ${(r.latencies.reduce((a, b) => a + b, 0) / r.latencies.length).toFixed(1)} ms, max ${r.latencies.at(-1)!.toFixed(0)} ms`, ratio: "", target: "", verdict: "info" });
  report.add({ figure: "Single events, paced: p99 latency (from scheduled send)", value: `${p99.toFixed(1)} ms`, reference: `p99.9 ${pct(r.latencies, 99.9).toFixed(1)} ms`, ratio: "", target: "≤ 15 ms", verdict: verdict(p99 <= 15) });
  report.add({ figure: "Single events, paced: errors (connection, timeout, non-2xx, wrong answer)", value: String(errors), reference: `${r.sent} requests`, ratio: "", target: "0", verdict: verdict(errors === 0) });
  report.add({
    figure: "Single events, paced: CPU during the run (% of one core)",
    value: `server ${p.server.toFixed(0)}%`,
    reference: `PostgreSQL ${p.postgres === undefined ? "?" : `${p.postgres.toFixed(0)}%`}, client ${p.client.toFixed(0)}%; ${os.cpus().length} cores in all`,
    ratio: `${((p.server * 10) / Math.max(1, achieved)).toFixed(2)} ms/req`,
    target: "",
    verdict: "info",
  });

  // ---- autocannon ----
  const bodies = singleBodies(orgId, Math.ceil(rate * seconds * 1.25) + 100, now, 7003);
  let next = 0;
  let unexpected = 0;
  note(`single events (autocannon): overallRate ${rate} for ${seconds} s over ${AUTOCANNON_CONNECTIONS} keep-alive connections`);
  const a = await measureCpu(serverPid, pgData, () => autocannon({
    url: baseUrl,
    connections: AUTOCANNON_CONNECTIONS,
    duration: seconds,
    overallRate: rate,
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    requests: [
      {
        method: "POST",
        path: REST_PATH,
        setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length]! }),
        onResponse: (status, body) => {
          if (status !== 200 || !body.includes('"inserted":1')) unexpected++;
        },
      },
    ],
  }));
  const res = a.result;
  const acErrors = res.errors + res.timeouts + res.non2xx + unexpected;
  note(`single events (autocannon): ${res.requests.total} requests in ${res.duration.toFixed(1)} s, p50 ${res.latency.p50} ms, p99 ${res.latency.p99} ms, errors ${acErrors}`);
  report.add({
    figure: `Single events, autocannon overallRate ${rate} (${AUTOCANNON_CONNECTIONS} connections, per-second bursts): rate, p50, p99`,
    value: `${(res.requests.total / res.duration).toFixed(1)} req/s; p50 ${res.latency.p50} ms; p99 ${res.latency.p99} ms`,
    reference: `errors ${acErrors}; server CPU ${a.server.toFixed(0)}%; median of per-second request counts ${median([res.requests.p50]).toFixed(0)}`,
    ratio: "",
    target: "",
    verdict: "info",
  });
}
