// The embedded database: data survives restarts, an orphan left by SIGKILL is recovered, and a
// second process (the CLI next to the server) shares the running database.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres } from "../../src/db/embedded-postgres.js";
import { createLogger } from "../../src/logger.js";
import { PROJECT_ROOT } from "../support/shared.js";

const log = createLogger("silent");
const dirs: string[] = [];
function tempDir(): string {
  const dir = path.join(os.tmpdir(), `leadevents-embedded-${randomBytes(4).toString("hex")}`);
  fs.mkdirSync(dir, { recursive: true });
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function query(url: string, sql: string): Promise<any[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("embedded PostgreSQL", () => {
  it("keeps data between runs and recovers the orphan a SIGKILLed run leaves behind", async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, ["--import", "tsx", path.join(PROJECT_ROOT, "test/support/embedded-child.ts"), dir], { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "inherit"] });
    const { url } = await new Promise<{ url: string }>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (c) => {
        out += c;
        if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]!));
      });
      child.once("exit", (code) => reject(new Error(`child exited ${code}`)));
    });
    await query(url, "create table kept (v int); insert into kept values (42)");
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));

    const pidFile = path.join(dir, "pg", "postmaster.pid");
    const orphan = Number(fs.readFileSync(pidFile, "utf8").split("\n")[0]);
    expect(isAlive(orphan)).toBe(true);

    const again = await startEmbeddedPostgres({ dataDir: dir, log });
    try {
      expect(isAlive(orphan)).toBe(false);
      expect(await query(again.url, "select v from kept")).toEqual([{ v: 42 }]);
    } finally {
      await again.stop();
    }
    expect(fs.existsSync(pidFile)).toBe(false);
  });

  it("lets a second process share a running database instead of failing", async () => {
    const dir = tempDir();
    const first = await startEmbeddedPostgres({ dataDir: dir, log });
    try {
      const second = await startEmbeddedPostgres({ dataDir: dir, log });
      expect(second.port).toBe(first.port);
      await second.stop(); // leaves the owner's server running
      expect(await query(first.url, "select 1 as one")).toEqual([{ one: 1 }]);
    } finally {
      await first.stop();
    }
  });

  it("does not assume a fixed port is free", async () => {
    const dir = tempDir();
    const a = await startEmbeddedPostgres({ dataDir: dir, log });
    try {
      expect(a.port).not.toBe(5432);
      expect(a.url).toContain(`127.0.0.1:${a.port}`);
    } finally {
      await a.stop();
    }
  });
});
