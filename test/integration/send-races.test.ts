// Concurrent writers of the same keys on different write paths: a new batch on the direct COPY
// (rows in arrival order) and a re-send on the probing path (rows in key order). Neither may be
// answered with an error: the direct writer gives way, and a deadlock is retried.
import { afterAll, beforeAll, expect, it } from "vitest";
import { postJson, startTestServer, type TestServer } from "../support/test-server.js";

const REST = "/api/v1/webhooks/lead-events";
const event = (i: number) => ({ phoneE164: `+1${4155550000 + (i % 5_000)}`, occurredAt: `2026-11-01T10:00:00.${String(i + 1).padStart(6, "0")}Z` });

/** A fixed shuffle (the direct COPY writes rows in the order they arrive). */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

it("answers both a new batch and a re-send of some of its keys sent at the same time, each key stored once", async () => {
  const outcomes: string[] = [];
  for (let trial = 0; trial < 6; trial++) {
    const org = await server.createOrg();
    const send = (events: unknown[]) => postJson(server.baseUrl + REST, { organizationId: org.id, eventType: "race", events }, { authorization: `Bearer ${org.apiKey}` });
    // One stored key at the head of the re-send sends it down the probing path at once.
    const stored = event(49_999);
    expect((await send([stored])).body.inserted).toBe(1);
    const keys = Array.from({ length: 30_000 }, (_, i) => event(i));
    const direct = send(shuffled(keys, trial + 1));
    await new Promise((r) => setTimeout(r, [0, 20, 40][trial % 3]));
    const resend = send([stored, ...keys.slice(0, 3_000)]);
    const [d, r] = await Promise.all([direct, resend]);
    outcomes.push(`${d.status}/${r.status}`);
    if (d.status !== 200 || r.status !== 200) continue;
    // Each key inserted exactly once between the two calls.
    expect(d.body.inserted + r.body.inserted).toBe(30_000);
    expect(d.body).toMatchObject({ received: 30_000, rejected: 0 });
    expect(r.body).toMatchObject({ received: 3_001, duplicates: 3_001 - r.body.inserted, rejected: 0 });
  }
  expect(outcomes).toEqual(Array(6).fill("200/200"));
});
