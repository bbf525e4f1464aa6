// The server under test, as a child process (`node --import tsx src/main.ts`), so its memory can
// be read from /proc/<pid>/status and its CPU profiled without the benchmark's own work in it.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { note } from "./config.js";
import { freePort } from "../../src/db/embedded-postgres.js";

export interface ServerOptions {
  root: string;
  databaseUrl: string;
  dataDir: string;
  logLevel: string;
  /** Write a V8 CPU profile into this folder when the server exits. */
  cpuProfDir?: string;
  /** Extra environment (e.g. DB_POOL_SIZE). */
  env?: Record<string, string>;
}

export interface BenchServer {
  pid: number;
  port: number;
  baseUrl: string;
  /** The last lines the server wrote (stdout and stderr), for error reports. */
  tail(): string;
  /** Graceful stop (SIGTERM), then SIGKILL after a while. */
  stop(): Promise<void>;
}

export const SECRET_KEY = randomBytes(32).toString("base64");

export async function startServer(opts: ServerOptions): Promise<BenchServer> {
  fs.mkdirSync(opts.dataDir, { recursive: true });
  // At info level the server announces its port; below it, we choose one.
  const announces = opts.logLevel === "info" || opts.logLevel === "debug";
  const port = announces ? 0 : await freePort();
  const args = [
    ...(opts.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProfDir}`] : []),
    "--import", "tsx",
    path.join(opts.root, "src/main.ts"),
  ];
  const child = spawn(process.execPath, args, {
    cwd: opts.root,
    env: {
      ...process.env,
      DATABASE_URL: opts.databaseUrl,
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: opts.logLevel,
      LEADEVENTS_SECRET_KEY: SECRET_KEY,
      LEADEVENTS_DATA_DIR: opts.dataDir,
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const keep = (line: string) => {
    lines.push(line);
    if (lines.length > 200) lines.splice(0, lines.length - 100);
  };
  let announced: ((port: number) => void) | undefined;
  let buffered = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      // Request lines are the bulk at info level: parse only what could be the announcement.
      if (announced && line.includes('"listening"')) {
        try {
          const j = JSON.parse(line) as { msg?: string; port?: number };
          if (j.msg === "listening" && typeof j.port === "number") announced(j.port);
        } catch {
          /* not JSON */
        }
      }
      if (!line.includes('"msg":"request"')) keep(line);
    }
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    for (const l of chunk.split("\n")) if (l.trim()) keep(l);
  });
  const tail = () => lines.slice(-30).join("\n");

  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const boundPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start within 120 s:\n${tail()}`)), 120_000);
    const done = (p: number) => {
      clearTimeout(timer);
      resolve(p);
    };
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the server exited during start (code ${code}, signal ${signal}):\n${tail()}`));
    });
    if (announces) announced = done;
    else waitForHealth(`http://127.0.0.1:${port}`, 120_000).then(() => done(port), reject);
  });
  announced = undefined;
  const baseUrl = `http://127.0.0.1:${boundPort}`;
  await waitForHealth(baseUrl, 60_000);
  note(`server pid ${child.pid} on ${baseUrl}${opts.cpuProfDir ? " (CPU profiling)" : ""}`);
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid!,
    port: boundPort,
    baseUrl,
    tail,
    stop: () => (stopping ??= stopChild(child, exited)),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const killed = await Promise.race([exited.then(() => false), sleep(30_000).then(() => true)]);
  if (killed && child.exitCode === null && child.signalCode === null) {
    child.kill("SIGKILL");
    await exited;
  }
}

async function waitForHealth(baseUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${baseUrl}/healthz`);
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = String(err);
    }
    await sleep(100);
  }
  throw new Error(`${baseUrl}/healthz did not answer 200 within ${timeoutMs} ms (${last})`);
}


export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---- memory of a process, from /proc ----

export interface MemoryReading {
  /** Resident set size now, bytes. */
  rss: number;
  /** Peak resident set size since start or the last resetPeak(), bytes. */
  hwm: number;
}

export function readMemory(pid: number): MemoryReading {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(m[1]) * 1024;
  };
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

/** Resets VmHWM to the current RSS (Linux: "5" into clear_refs); false when not permitted. */
export function resetPeak(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/**
 * Samples a process's RSS every `everyMs` while fn runs. The peak is the larger of the highest
 * sample and the kernel's own high-water mark (reset just before fn, when permitted), so a spike
 * between two samples still counts.
 */
export async function sampleMemory<T>(pid: number, fn: () => Promise<T>, everyMs = 10): Promise<{ result: T; baseline: number; peak: number; samples: number; hwmReset: boolean; after: number }> {
  const baseline = readMemory(pid).rss;
  const hwmReset = resetPeak(pid);
  let peak = baseline;
  let samples = 0;
  const timer = setInterval(() => {
    try {
      const r = readMemory(pid).rss;
      samples++;
      if (r > peak) peak = r;
    } catch {
      /* process gone: fn will fail */
    }
  }, everyMs);
  try {
    const result = await fn();
    const end = readMemory(pid);
    if (end.rss > peak) peak = end.rss;
    if (hwmReset && end.hwm > peak) peak = end.hwm;
    return { result, baseline, peak, samples, hwmReset, after: end.rss };
  } finally {
    clearInterval(timer);
  }
}

// ---- CPU time of processes, from /proc ----

const TICKS_PER_SECOND = 100;

/** User + system CPU time of a process so far, in ms (0 when it is gone). */
export function cpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 (utime, stime) of proc(5), counted from after the command name.
    return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The PostgreSQL postmaster of a data folder and its children (backends, walwriter...). */
export function postgresPids(pgData: string): number[] {
  let postmaster: number;
  try {
    postmaster = Number(fs.readFileSync(path.join(pgData, "postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return [];
  }
  const pids = [postmaster];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === postmaster) pids.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return pids;
}

/** CPU used by the server, this process (the client) and PostgreSQL while fn runs, in % of one core. */
export async function measureCpu<T>(serverPid: number, pgData: string | undefined, fn: () => Promise<T>): Promise<{ result: T; server: number; client: number; postgres: number | undefined }> {
  // PostgreSQL backends started during fn (new pool connections) count from zero; those that
  // ended during it are lost (rare: the server's pool keeps its connections).
  const pgBefore = new Map((pgData ? postgresPids(pgData) : []).map((p) => [p, cpuMs(p)]));
  const s0 = cpuMs(serverPid);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const pgAfter = pgData ? postgresPids(pgData) : [];
  const pgMs = pgAfter.reduce((a, p) => a + cpuMs(p) - (pgBefore.get(p) ?? 0), 0);
  const pct = (ms: number) => (100 * ms) / wall;
  return {
    result,
    server: pct(cpuMs(serverPid) - s0),
    client: pct((c.user + c.system) / 1000),
    postgres: pgAfter.length ? pct(pgMs) : undefined,
  };
}
