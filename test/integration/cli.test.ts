// The bootstrap CLI, run against a real database (in-process, and once as a real command).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { postJson, startTestServer, type TestServer } from "../support/test-server.js";
import { PROJECT_ROOT } from "../support/shared.js";

describe("leadevents CLI", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it("creates an organization with a default region and a working admin key", async () => {
    const out = (await runCli(["org", "create", "--name", "Acme", "--default-region", "us"], server.ctx)) as { organizationId: number; apiKey: string };
    expect(out.apiKey).toMatch(/^lek_[0-9A-Za-z]{49}$/);
    const org = await server.ctx.organizations.find(out.organizationId);
    expect(org).toMatchObject({ name: "Acme", defaultRegion: "US", authMode: "API_KEY" });
    const res = await postJson(`${server.baseUrl}/api/v1/webhooks/lead-events`, { organizationId: out.organizationId, eventType: "cli", events: [{ phoneE164: "(415) 555-0132", occurredAt: "2026-11-30T18:34:00Z" }] }, { authorization: `Bearer ${out.apiKey}` });
    expect(res.body).toMatchObject({ inserted: 1 });
  });

  it("updates the default region, creates scoped keys, lists and revokes them", async () => {
    const { organizationId } = (await runCli(["org", "create", "--name", "B"], server.ctx)) as { organizationId: number };
    const updated = await runCli(["org", "update", "--org", String(organizationId), "--default-region", "GB"], server.ctx);
    expect(updated).toMatchObject({ defaultRegion: "GB" });
    const key = (await runCli(["key", "create", "--org", String(organizationId), "--scopes", "read,ingest"], server.ctx)) as any;
    expect(key.scopes).toEqual(["ingest", "read"]);
    const list = (await runCli(["key", "list", "--org", String(organizationId)], server.ctx)) as any;
    expect(list.keys.map((k: any) => k.prefix)).toContain(key.prefix);
    expect(JSON.stringify(list)).not.toContain(key.apiKey);
    const revoked = (await runCli(["key", "revoke", "--org", String(organizationId), "--key", key.keyId], server.ctx)) as any;
    expect(revoked.revokedAt).toBeTruthy();
    expect((await server.ctx.organizations.find(organizationId))?.defaultRegion).toBe("GB");
  });

  it("explains bad arguments", async () => {
    await expect(runCli(["org", "create"], server.ctx)).rejects.toThrow(/--name/);
    await expect(runCli(["org", "update", "--org", "1", "--default-region", "XX"], server.ctx)).rejects.toThrow(/region/);
    await expect(runCli(["key", "create", "--org", "1", "--scopes", "write"], server.ctx)).rejects.toThrow(/unknown scope/);
    await expect(runCli(["key", "create", "--org", "999999", "--scopes", "read"], server.ctx)).rejects.toThrow(/does not exist/);
  });

  it("runs as a command with DATABASE_URL and prints JSON only on stdout", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, "bin/leadevents.mjs"), "org", "create", "--name", "Cmd"], {
      env: { ...process.env, DATABASE_URL: server.databaseUrl },
      cwd: PROJECT_ROOT,
    });
    const out = JSON.parse(stdout);
    expect(out.organizationId).toBeGreaterThan(0);
    expect(out.apiKey).toMatch(/^lek_/);
  });
});
