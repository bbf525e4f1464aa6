// `npm run bench`: starts a PostgreSQL (embedded in a temporary folder, or BENCH_DATABASE_URL) and
// the server as a child process, measures every figure of the performance issue, prints the table
// (figure | value | reference | ratio | target | pass/fail) and writes it to test/bench/last-run.md.
// Settings: see config.ts. Progress goes to stderr, the table to stdout.
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import type pg from "pg";
import { note, readBenchConfig, type BenchConfig } from "./config.js";
import { connect, startEnvironment, type BenchEnvironment } from "./environment.js";
import { fittingMetadataBytes, MAX_BODY_BYTES, type Batch } from "./data.js";
import { measureIngest, measureRestAtSize, reportIngest, warmUp, type IngestSetup } from "./ingest.js";
import { measureMemory } from "./memory.js";
import { measureSingleEvents } from "./single-events.js";
import { checkpoint, createPopulation, loadUpTo, type Population } from "./load.js";
import { measureFilter } from "./filter.js";
import { profileRestIngest } from "./profile.js";
import { mb, median, ratio, seconds, spread, Report } from "./report.js";
import { SECRET_KEY, startServer, type BenchServer } from "./server.js";
import { createTransports, type Transports } from "./transports.js";

const cleanups: (() => Promise<void> | void)[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  return (cleaning ??= (async () => {
    while (cleanups.length) {
      const fn = cleanups.pop()!;
      try {
        await fn();
      } catch (err) {
        note(`cleanup failed: ${String(err)}`);
      }
    }
  })());
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    note(`${signal}: cleaning up`);
    void cleanup().then(() => process.exit(130));
  });
}

/** `leadevents org create` against the benchmark's database: {organizationId, apiKey}. */
function createOrgWithCli(cfg: BenchConfig, databaseUrl: string, dataDir: string, name: string): Promise<{ organizationId: number; apiKey: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(cfg.root, "bin/leadevents.mjs"), "org", "create", "--name", name, "--default-region", "US"],
      { cwd: cfg.root, env: { ...process.env, DATABASE_URL: databaseUrl, LEADEVENTS_DATA_DIR: dataDir, LEADEVENTS_SECRET_KEY: SECRET_KEY, LOG_LEVEL: "warn" }, timeout: 120_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`leadevents org create failed: ${err.message}\n${stderr}`));
        try {
          const j = JSON.parse(stdout) as { organizationId: number; apiKey: string };
          resolve({ organizationId: Number(j.organizationId), apiKey: j.apiKey });
        } catch {
          reject(new Error(`leadevents org create printed no JSON: ${stdout}\n${stderr}`));
        }
      },
    );
  });
}

/** The colleague's standalone filter benchmark, as a child, on the same PostgreSQL server. */
function runFilterScript(cfg: BenchConfig, adminUrl: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", path.join(cfg.benchDir, "filter-audience.bench.ts")],
      {
        cwd: cfg.root,
        env: {
          ...process.env,
          DATABASE_URL: adminUrl,
          BENCH_EVENTS: String(cfg.events),
          BENCH_RUNS: String(cfg.filterRepeat),
          BENCH_STREAM: String(Math.max(0, ...cfg.filterSizes.filter((n) => n > 100_000))),
        },
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    );
    child.stderr?.on("data", (c: Buffer) => process.stderr.write(c));
  });
}

function gitDescribe(root: string): string {
  if (process.env.BENCH_CODE_LABEL) return process.env.BENCH_CODE_LABEL;
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src"], { cwd: root, encoding: "utf8" }).trim() !== "";
    return `${head}${dirty ? " + uncommitted changes in src/" : ""}`;
  } catch {
    return "unknown";
  }
}

async function section(report: Report, title: string, fn: () => Promise<void>): Promise<void> {
  report.section(title);
  note(`== ${title}`);
  const t0 = performance.now();
  try {
    await fn();
  } catch (err) {
    note(`${title} failed: ${err instanceof Error ? err.stack : String(err)}`);
    report.error(title, err);
  }
  note(`== ${title}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

async function main(): Promise<number> {
  const cfg = readBenchConfig();
  const report = new Report();
  const started = performance.now();
  note(`settings: ${JSON.stringify({ quick: cfg.quick, repeat: cfg.repeat, events: cfg.events, batch: cfg.batch, singleSeconds: cfg.singleSeconds, singleRate: cfg.singleRate, memoryBatches: cfg.memoryBatches, filterSizes: cfg.filterSizes, sections: [...cfg.sections], profile: cfg.profile })}`);

  const env: BenchEnvironment = await startEnvironment(cfg);
  cleanups.push(() => env.close());
  const server: BenchServer = await startServer({ root: cfg.root, databaseUrl: env.databaseUrl, dataDir: path.join(env.tmpDir, "server"), logLevel: cfg.logLevel });
  cleanups.push(() => server.stop());
  const db: pg.Client = await connect(env.databaseUrl);
  cleanups.push(() => db.end());
  const { rows: v } = await db.query<{ version: string }>("select version()");
  const org = await createOrgWithCli(cfg, env.databaseUrl, path.join(env.tmpDir, "server"), "Benchmark");
  note(`organization ${org.organizationId} created with the CLI`);
  const t: Transports = createTransports(server.baseUrl, org.apiKey);
  cleanups.push(() => t.close());

  // The batch: 50,000 distinct events with metadata as close to the issue's ~150 bytes as the
  // 10 MiB cap allows in both JSON and protobuf (64 KiB of headroom).
  const now = Date.now() * 1000;
  const fit = fittingMetadataBytes(cfg.batch, 150, MAX_BODY_BYTES - 64 * 1024, true, 42, now);
  const batch: Batch = fit.batch;
  note(`batch: ${cfg.batch} events, metadata ${fit.batch.metadataBytes.toFixed(0)} B avg, JSON ${mb(fit.jsonBytes)}, protobuf ${mb(fit.protoBytes)}`);

  report.header.push(
    ["machine", `${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? "?"}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.platform()} ${os.release()}`],
    ["PostgreSQL", `${v[0]!.version} (${env.kind === "embedded" ? "embedded, with src/db/embedded-postgres.ts settings" : "BENCH_DATABASE_URL"})`],
    ["Node", process.version],
    ["code", gitDescribe(cfg.root)],
    ["date", new Date().toISOString()],
    ["settings", `${cfg.quick ? "BENCH_QUICK=1, " : ""}repeat ${cfg.repeat} (median), batch ${cfg.batch.toLocaleString("en-US")} events, stored events ${cfg.events.toLocaleString("en-US")}, server LOG_LEVEL=${cfg.logLevel}`],
    ["batch", `${cfg.batch.toLocaleString("en-US")} distinct events, metadata ${fit.batch.metadataBytes.toFixed(0)} B avg compact JSON; body ${mb(fit.jsonBytes)} JSON, ${mb(fit.protoBytes)} protobuf`],
  );

  const appendix: string[] = [];
  const setup: IngestSetup = { cfg, t, db, orgId: org.organizationId, batch };

  if (cfg.sections.has("ingest")) {
    await section(report, "Ingest: 50k batches against COPY (same rows, same run)", async () => {
      await db.query("truncate lead_event");
      await warmUp(setup);
      await db.query("truncate lead_event");
      await checkpoint(db);
      const res = await measureIngest(setup);
      reportIngest(report, res, batch);
    });
  }

  if (cfg.profile) {
    await section(report, "CPU profile (BENCH_PROFILE=1)", async () => {
      const out = path.join(cfg.benchDir, "last-profile.md");
      await profileRestIngest({ root: cfg.root, databaseUrl: env.databaseUrl, tmpDir: env.tmpDir, logLevel: cfg.logLevel, apiKey: org.apiKey, orgId: org.organizationId, batch, runs: Math.max(3, cfg.repeat), outFile: out });
      report.add({ figure: "CPU profile of REST 50k ingests", value: "written", reference: path.relative(cfg.root, out), ratio: "", target: "", verdict: "info" });
    });
  }

  if (cfg.sections.has("memory")) {
    await section(report, "Memory: 10 MB batches", async () => {
      // Metadata as large as fits: the body just under the 10 MiB cap (16 KiB of headroom).
      const big = fittingMetadataBytes(cfg.batch, 400, MAX_BODY_BYTES - 16 * 1024, false, 4242, now);
      const own = await startServer({ root: cfg.root, databaseUrl: env.databaseUrl, dataDir: path.join(env.tmpDir, "server-memory"), logLevel: cfg.logLevel });
      const ownT = createTransports(own.baseUrl, org.apiKey);
      try {
        await measureMemory(report, cfg, ownT, own.pid, org.organizationId, big.batch);
      } finally {
        ownT.close();
        await own.stop();
      }
    });
  }

  if (cfg.sections.has("single")) {
    await section(report, `Single events: ${cfg.singleRate}/s for ${cfg.singleSeconds} s`, async () => {
      // The sections before wrote ~2 million rows (GBs of WAL and dirty pages): settle them first,
      // as load.ts does after its load, so the 30 s measure the service rather than PostgreSQL
      // flushing the benchmark's own earlier writes (unsettled, p99 was 60-100 ms; alone, ~14 ms).
      const t0 = performance.now();
      await db.query("vacuum analyze lead_event");
      await checkpoint(db);
      note(`settled before single events (vacuum analyze lead_event, checkpoint): ${(performance.now() - t0).toFixed(0)} ms`);
      await measureSingleEvents(report, cfg, server.baseUrl, org.apiKey, org.organizationId, t, server.pid, env.pgData);
    });
  }

  let pop: Population | undefined;
  const growth = cfg.sections.has("growth");
  if (growth || cfg.sections.has("filter")) {
    const steps = [0, 0.1, 1];
    const fmt = (n: number) => n.toLocaleString("en-US");
    await section(report, `Growth: ingest at 0, ${fmt(cfg.events / 10)} and ${fmt(cfg.events)} stored rows`, async () => {
      await db.query("truncate lead_event");
      const asOfMicros = Math.floor(Date.now() / 1000) * 1e6;
      pop = await createPopulation(db, org.organizationId, cfg.events, asOfMicros);
      let first: number | undefined;
      for (const fraction of steps) {
        let stored = 0;
        if (fraction > 0) {
          note(`loading up to ${fmt(Math.round(cfg.events * fraction))} rows`);
          const l = await loadUpTo(db, pop, fraction);
          stored = l.tableRows;
          report.add({
            figure: `Load ${fmt(l.rows)} rows with SQL (generate_series; indexes dropped and rebuilt)`,
            value: seconds(l.insertMs + l.indexMs + l.vacuumMs),
            reference: `insert ${seconds(l.insertMs)}, indexes ${seconds(l.indexMs)}, vacuum analyze + checkpoint ${seconds(l.vacuumMs)}`,
            ratio: "",
            target: "",
            verdict: "info",
          });
        }
        if (!growth) continue;
        const r = await measureRestAtSize(setup);
        const rest = median(r.restMs);
        const copy = median(r.copyMs);
        first ??= rest / copy;
        report.add({
          figure: `REST 50k new rows with ${fmt(stored)} rows stored`,
          value: spread(r.restMs),
          reference: `COPY ${seconds(copy)}`,
          ratio: ratio(rest, copy),
          target: fraction === 0 ? "" : `growth ${(rest / copy / first).toFixed(2)}× of the 0-row ratio`,
          verdict: "info",
        });
      }
    });
  }

  if (cfg.sections.has("filter")) {
    await section(report, `FilterAudience against ${cfg.events.toLocaleString("en-US")} stored events (1,000 organizations, skewed)`, async () => {
      if (!pop) throw new Error("the population was not loaded");
      const big = pop.orgs[0]!;
      report.notes.push(`FilterAudience figures: organization ${pop.benchOrgId} holds ${big.rows.toLocaleString("en-US")} of the ${cfg.events.toLocaleString("en-US")} stored events (${Math.floor(big.rows / 5).toLocaleString("en-US")} phones); the second largest ${pop.orgs[1]!.rows.toLocaleString("en-US")}, the smallest ${pop.orgs.at(-1)!.rows.toLocaleString("en-US")}. Audiences: half phones the organization has events for (one in ten written nationally, the organization's default region being US), half unseen, shuffled.`);
      await measureFilter(report, cfg, t, db, server.pid, pop, { baseUrl: server.baseUrl, apiKey: org.apiKey });
    });
  }

  if (cfg.filterScript) {
    await section(report, "filter-audience.bench.ts (BENCH_FILTER_SCRIPT=1)", async () => {
      const out = await runFilterScript(cfg, env.adminUrl);
      appendix.push("## filter-audience.bench.ts", "", "```", out.trim(), "```");
      report.add({ figure: "filter-audience.bench.ts", value: "ran", reference: "table appended to last-run.md", ratio: "", target: "", verdict: "info" });
    });
  }

  report.notes.push(
    "Ratios: each figure's median over the runs divided by the median COPY of the same rows measured in the same run, interleaved with it (value column: median (min–max, n)).",
    "Generated-client figures include the client's own protobuf serialization; the pre-serialized rows send the same bytes without it (the server's share).",
    `Whole run: ${((performance.now() - started) / 60000).toFixed(1)} min.`,
  );
  const md = path.join(cfg.benchDir, "last-run.md");
  report.writeMarkdown(md, `Benchmark run ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`);
  if (appendix.length) fs.appendFileSync(md, "\n" + appendix.join("\n") + "\n");
  process.stdout.write(report.text() + "\n");
  note(`table written to ${path.relative(cfg.root, md)}; ${report.failed} target(s) missed, ${report.errors} error(s)`);
  return report.errors > 0 ? 1 : 0;
}

main()
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  })
  .catch(async (err) => {
    process.stderr.write(`benchmark failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    await cleanup();
    process.exit(1);
  });
