// Benchmark settings, read once from the environment. Every size is configurable; BENCH_QUICK=1
// swaps in small defaults for a smoke run of a minute or two.
//
//   BENCH_QUICK=1             small sizes (200k stored events, 1 repeat, 3 s single-event run)
//   BENCH_REPEAT=3            runs of each ingest figure (median reported; fresh rows each run)
//   BENCH_EVENTS=10000000     stored events for the growth and filter figures (loaded with SQL)
//   BENCH_BATCH=50000         events per batch
//   BENCH_SINGLE_SECONDS=30   single-event run length; BENCH_SINGLE_RATE=300 requests/s
//   BENCH_MEMORY_BATCHES=20   10 MB batches in a row for the leak check
//   BENCH_FILTER_SIZES=10000,100000,1000000   audiences (over 100,000 go through FilterAudienceChunked, and FilterAudienceStream for comparison)
//   BENCH_FILTER_REPEAT=5     runs of each filter figure (p50 reported)
//   BENCH_SECTIONS=ingest,memory,single,growth,filter   which sections to run (default: all)
//   BENCH_DATABASE_URL=...    use this PostgreSQL server (a throw-away database is created on it)
//                             instead of an embedded one in a temporary folder
//   BENCH_PROFILE=1           also profile the server (--cpu-prof) during 50k REST ingests
//   BENCH_LOG_LEVEL=info      the server's LOG_LEVEL (info = production: one line per request)
//   BENCH_CODE_LABEL=...      what the table's "code" line says (default: git HEAD, and whether src/ has changes)
//   BENCH_FILTER_SCRIPT=1     also run filter-audience.bench.ts (the filter deep-dive: its own
//                             database and load, more filters and transports) on the same
//                             PostgreSQL, and append its table to last-run.md
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export type Section = "ingest" | "memory" | "single" | "growth" | "filter";
export const ALL_SECTIONS: readonly Section[] = ["ingest", "memory", "single", "growth", "filter"];

export interface BenchConfig {
  quick: boolean;
  repeat: number;
  events: number;
  batch: number;
  singleSeconds: number;
  singleRate: number;
  memoryBatches: number;
  filterSizes: number[];
  filterRepeat: number;
  sections: Set<Section>;
  databaseUrl: string | undefined;
  profile: boolean;
  filterScript: boolean;
  logLevel: string;
  /** The repository root (where package.json is). */
  root: string;
  /** This folder (test/bench). */
  benchDir: string;
  tmpRoot: string;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw.replace(/_/g, ""));
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

export function readBenchConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const quick = env.BENCH_QUICK === "1" || env.BENCH_QUICK === "true";
  const benchDir = path.dirname(fileURLToPath(import.meta.url));
  const sectionsRaw = env.BENCH_SECTIONS?.trim();
  const sections = new Set<Section>(
    sectionsRaw ? sectionsRaw.split(",").map((s) => s.trim()).filter(Boolean).map((s) => {
      if (!(ALL_SECTIONS as readonly string[]).includes(s)) throw new Error(`BENCH_SECTIONS: unknown section ${JSON.stringify(s)} (known: ${ALL_SECTIONS.join(", ")})`);
      return s as Section;
    }) : ALL_SECTIONS,
  );
  const filterSizes = (env.BENCH_FILTER_SIZES?.trim() || (quick ? "10000,100000,250000" : "10000,100000,1000000"))
    .split(",").map((s) => Number(s.trim().replace(/_/g, "")));
  if (filterSizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error("BENCH_FILTER_SIZES must be a comma-separated list of positive integers");
  return {
    quick,
    repeat: int(env, "BENCH_REPEAT", quick ? 1 : 3),
    events: int(env, "BENCH_EVENTS", quick ? 200_000 : 10_000_000, 1000),
    batch: int(env, "BENCH_BATCH", 50_000),
    singleSeconds: int(env, "BENCH_SINGLE_SECONDS", quick ? 3 : 30),
    singleRate: int(env, "BENCH_SINGLE_RATE", 300),
    memoryBatches: int(env, "BENCH_MEMORY_BATCHES", quick ? 3 : 20, 2),
    filterSizes,
    filterRepeat: int(env, "BENCH_FILTER_REPEAT", quick ? 2 : 5),
    sections,
    databaseUrl: env.BENCH_DATABASE_URL?.trim() || undefined,
    profile: env.BENCH_PROFILE === "1" || env.BENCH_PROFILE === "true",
    filterScript: env.BENCH_FILTER_SCRIPT === "1" || env.BENCH_FILTER_SCRIPT === "true",
    logLevel: env.BENCH_LOG_LEVEL?.trim() || "info",
    root: path.resolve(benchDir, "../.."),
    benchDir,
    tmpRoot: os.tmpdir(),
  };
}

/** Progress lines go to stderr, so stdout carries only the result table. */
export function note(msg: string): void {
  const t = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[bench ${t}] ${msg}\n`);
}
