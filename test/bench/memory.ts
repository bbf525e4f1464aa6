// The server's memory while it handles 10 MB batches, on a server child of its own started for
// this section (so no earlier figure's heap is in the baseline) and warmed with one small batch:
// the peak RSS growth over one 10 MB request (sampled every 10 ms from /proc/<pid>/status, plus
// the kernel's VmHWM high-water mark reset just before it), then RSS after each of
// BENCH_MEMORY_BATCHES requests in a row, each with distinct rows (a new event type), to see
// whether anything accumulates.
import { note, type BenchConfig } from "./config.js";
import { jsonBody, makeBatch, type Batch } from "./data.js";
import { freshType } from "./ingest.js";
import { mb, median, verdict, type Report } from "./report.js";
import { readMemory, sampleMemory, sleep } from "./server.js";
import type { Transports } from "./transports.js";

/** Peak RSS growth allowed while handling one 10 MB batch. */
export const PEAK_TARGET_BYTES = 250 * 1024 * 1024;
/**
 * "Flat": RSS once settled after the last batches minus after the first ones (medians of the
 * first and last five readings, so one late garbage collection does not decide it).
 */
export const FLAT_TARGET_BYTES = 50 * 1024 * 1024;
const SETTLE_MS = 1500;

export async function measureMemory(report: Report, cfg: BenchConfig, t: Transports, pid: number, orgId: number, batch: Batch): Promise<void> {
  const n = batch.rows.length;
  const small = makeBatch(1000, 120, 99, Date.now() * 1000);
  await t.restSend(jsonBody(orgId, freshType("memory_warm"), small));
  const first = jsonBody(orgId, freshType("memory"), batch);
  await sleep(SETTLE_MS);
  const one = await sampleMemory(pid, () => t.restSend(first));
  if (one.result.value.inserted !== n) throw new Error(`memory batch: unexpected answer ${JSON.stringify(one.result.value)}`);
  const growth = one.peak - one.baseline;
  note(`memory: baseline ${mb(one.baseline)}, peak ${mb(one.peak)} (${one.samples} samples, VmHWM ${one.hwmReset ? "reset" : "not resettable"}), ${one.result.ms.toFixed(0)} ms`);
  report.add({
    figure: `Peak RSS growth, one ${mb(first.length)} REST batch (${n.toLocaleString("en-US")} events)`,
    value: mb(growth),
    reference: `baseline RSS ${mb(one.baseline)}, peak ${mb(one.peak)}`,
    ratio: `${(growth / first.length).toFixed(1)}× body`,
    target: "≤ 250 MB",
    verdict: verdict(growth <= PEAK_TARGET_BYTES),
  });

  const series: number[] = [];
  let worstGrowth = 0;
  let absolutePeak = 0;
  for (let i = 0; i < cfg.memoryBatches; i++) {
    const body = jsonBody(orgId, freshType("memory"), batch);
    const r = await sampleMemory(pid, () => t.restSend(body), 20);
    if (r.result.value.inserted !== n) throw new Error(`memory series: unexpected answer ${JSON.stringify(r.result.value)}`);
    worstGrowth = Math.max(worstGrowth, r.peak - r.baseline);
    absolutePeak = Math.max(absolutePeak, r.peak);
    await sleep(SETTLE_MS);
    series.push(readMemory(pid).rss);
    note(`memory series ${i + 1}/${cfg.memoryBatches}: ${mb(series.at(-1)!)} (before ${mb(r.baseline)}, peak ${mb(r.peak)}, ${r.result.ms.toFixed(0)} ms)`);
  }
  const k = Math.min(5, Math.floor(series.length / 2));
  const drift = median(series.slice(-k)) - median(series.slice(0, k));
  report.add({
    figure: `RSS after each of ${cfg.memoryBatches} × ${mb(first.length)} batches (distinct rows), last ${k} − first ${k} (medians)`,
    value: `${drift >= 0 ? "+" : ""}${mb(drift)}`,
    reference: `MB: ${series.map((b) => (b / 1024 / 1024).toFixed(0)).join(",")}`,
    ratio: "",
    target: "flat: ≤ 50 MB",
    // A handful of readings is GC noise, not a trend: judged from 10 batches up.
    verdict: series.length >= 10 ? verdict(drift <= FLAT_TARGET_BYTES) : "info (< 10 batches)",
  });
  report.add({
    figure: `Peak RSS growth over the RSS just before each batch, worst of the ${cfg.memoryBatches}`,
    value: mb(worstGrowth),
    reference: "garbage of the previous batch may still be in the heap",
    ratio: "",
    target: "≤ 250 MB",
    verdict: verdict(worstGrowth <= PEAK_TARGET_BYTES),
  });
  report.add({
    figure: `Highest RSS during the ${cfg.memoryBatches} batches, over the idle server's`,
    value: mb(absolutePeak - one.baseline),
    reference: `idle ${mb(one.baseline)}, highest ${mb(absolutePeak)}`,
    ratio: "",
    target: "",
    verdict: "info",
  });
}
