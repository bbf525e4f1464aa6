// Graceful shutdown and database outages: in-flight calls finish, new ones are refused, and
// an unreachable database gives UNAVAILABLE / 503 until it is back, without a restart.
import net from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestServer, withAdminClient, type TestServer } from "../support/test-server.js";

const REST = "/api/v1/webhooks/lead-events";
const batch = (orgId: number, n: number, type: string) => ({
  organizationId: orgId,
  eventType: type,
  events: Array.from({ length: n }, (_, i) => ({ phoneE164: `+1212555${String(i % 10000).padStart(4, "0")}`, occurredAt: `2026-11-${String(1 + Math.floor(i / 10000)).padStart(2, "0")}T00:00:00Z` })),
});

describe("graceful shutdown", () => {
  it("finishes a call in flight, then refuses new connections", async () => {
    const server = await startTestServer();
    const org = await server.createOrg();
    const inFlight = postJson(server.baseUrl + REST, batch(org.id, 40_000, "shutdown"), { authorization: `Bearer ${org.apiKey}` });
    // Close once the server is handling the request (a fixed delay lost the race on a loaded machine).
    while (server.app.inFlight() === 0) await new Promise((r) => setTimeout(r, 5));
    const closing = server.app.close();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.body.inserted).toBe(40_000);
    await closing;
    await expect(fetch(server.baseUrl + "/healthz")).rejects.toThrow();
    await server.close();
  });
});

/** All the server writes on a raw connection until it is closed. */
function everythingSaid(socket: net.Socket): Promise<string> {
  return new Promise<string>((resolve) => {
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => (text += d));
    socket.on("error", () => undefined);
    socket.on("close", () => resolve(text));
  });
}

describe("graceful shutdown of a connection still silent", () => {
  it("serves a request whose connection was accepted before the stop but spoke only after it", async () => {
    const server = await startTestServer();
    const org = await server.createOrg();
    const socket = net.connect(server.port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const answer = everythingSaid(socket);
    // Accepted by the server (the listener sees it) before close() starts.
    await new Promise((r) => setTimeout(r, 50));
    const closing = server.app.close();
    await new Promise((r) => setTimeout(r, 100));
    const body = JSON.stringify(batch(org.id, 3, "late"));
    socket.write(`POST ${REST} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${org.apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    const text = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toContain('"inserted":3');
    await closing;
    await server.close();
  });
});

describe("graceful shutdown at its edges", () => {
  it("serves a request whose head arrives in two parts, one before the stop and one after", async () => {
    const server = await startTestServer({ config: { shutdownGraceMs: 3_000 } });
    const org = await server.createOrg();
    const body = JSON.stringify(batch(org.id, 1, "split"));
    const request = `POST ${REST} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${org.apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const socket = net.connect(server.port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const answer = everythingSaid(socket);
    socket.write(request.slice(0, 20));
    await new Promise((r) => setTimeout(r, 50));
    const closing = server.app.close();
    await new Promise((r) => setTimeout(r, 100));
    socket.write(request.slice(20));
    expect(await answer).toMatch(/^HTTP\/1\.1 200 /);
    await closing;
    await server.close();
  });

  it("ends within the grace period when a call waits on a row lock, and that call is rolled back", async () => {
    const server = await startTestServer({ config: { shutdownGraceMs: 500 } });
    const org = await server.createOrg();
    // Another writer of the same key holds its row lock (uncommitted).
    const other = new pg.Client({ connectionString: server.databaseUrl });
    await other.connect();
    await other.query("begin");
    await other.query("insert into lead_event (organization_id, phone_e164, event_type, occurred_at) values ($1, '+12125550000', 'locked', '2026-11-01T00:00:00Z')", [org.id]);
    const call = postJson(server.baseUrl + REST, batch(org.id, 2, "locked"), { authorization: `Bearer ${org.apiKey}` }).catch((err: Error) => err);
    while (server.app.inFlight() === 0) await new Promise((r) => setTimeout(r, 5));
    const started = Date.now();
    await server.app.close();
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(await call).toBeInstanceOf(Error); // cut off at the end of the grace period
    await other.query("rollback");
    const { rows } = await other.query("select count(*)::int as n from lead_event where organization_id = $1", [org.id]);
    await other.end();
    expect(rows[0].n).toBe(0); // its rows were not committed behind the caller's back
    await server.close();
  });
});

describe("database outage", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await withAdminClient((c) => c.query(`alter database ${server.databaseName} allow_connections true`));
    await server?.close();
  });

  it("answers 503 and /healthz 503 while the database is unreachable, and recovers by itself", async () => {
    const org = await server.createOrg();
    const send = () => postJson(server.baseUrl + REST, batch(org.id, 10, "outage"), { authorization: `Bearer ${org.apiKey}` });
    expect((await send()).status).toBe(200);

    await withAdminClient(async (c) => {
      await c.query(`alter database ${server.databaseName} allow_connections false`);
      await c.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", [server.databaseName]);
    });
    const down = await send();
    expect(down.status).toBe(503);
    expect(down.body.error.code).toBe("unavailable");
    expect((await fetch(server.baseUrl + "/healthz")).status).toBe(503);
    const warning = server.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "database unavailable");
    expect(warning?.requestId).toMatch(/^[0-9a-f-]{36}$/);

    await withAdminClient((c) => c.query(`alter database ${server.databaseName} allow_connections true`));
    const up = await send();
    expect(up.status).toBe(200);
    expect(up.body.duplicates).toBe(10);
    expect((await fetch(server.baseUrl + "/healthz")).status).toBe(200);
  });
});

describe("asynchronous commit (LEADEVENTS_ASYNC_COMMIT)", () => {
  it("still stores every row, and sets synchronous_commit off only inside the send's transaction", async () => {
    const server = await startTestServer({ config: { asyncCommit: true } });
    try {
      const org = await server.createOrg();
      const res = await postJson(server.baseUrl + REST, batch(org.id, 600, "async"), { authorization: `Bearer ${org.apiKey}` });
      expect(res.body.inserted).toBe(600);
      const setting = await server.app.db.withClient(async (c) => (await c.query("show synchronous_commit")).rows[0].synchronous_commit);
      expect(setting).toBe("on");
    } finally {
      await server.close();
    }
  });
});
