// WebhookSettingsService, HMAC signatures on every protocol, key lifecycle, scopes and tenancy.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FilterMode, LeadEventService, SendLeadEventsRequestSchema } from "../../gen/leadevents/v1/lead_event_service_pb.js";
import { ApiKeyScope, AuthMode, WebhookSettingsService } from "../../gen/leadevents/v1/webhook_settings_service_pb.js";
import { createSigningInterceptor } from "../../src/client/signing-interceptor.js";
import { signPayload } from "../../src/domain/signature.js";
import type { ApiKeyScope as Scope } from "../../src/domain/api-key.js";
import { postJson, startTestServer, type TestServer } from "../support/test-server.js";
import { enableHmac, settingsClient } from "../support/settings-client.js";

const REST = "/api/v1/webhooks/lead-events";
const codeOf = (e: unknown) => (e instanceof ConnectError ? e.code : undefined);

describe("webhook settings and HMAC", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const bodyFor = (orgId: number, phone = "+14155550140") =>
    Buffer.from(JSON.stringify({ organizationId: String(orgId), eventType: "webinar_attended", events: [{ phoneE164: phone, occurredAt: "2026-11-30T18:34:00Z" }] }));
  const postSigned = (body: Buffer, headers: Record<string, string>) =>
    fetch(server.baseUrl + REST, { method: "POST", headers: { "content-type": "application/json", ...headers }, body }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

  describe("settings", () => {
    it("gets and updates settings; a region must be real", async () => {
      const org = await server.createOrg();
      const { client, headers } = settingsClient(server.baseUrl, org.apiKey);
      const got = await client.getWebhookSettings({ organizationId: BigInt(org.id) }, { headers });
      expect(got.settings).toMatchObject({ authMode: AuthMode.API_KEY, defaultRegion: "", strictPhoneValidation: false });
      const up = await client.updateWebhookSettings({ organizationId: BigInt(org.id), defaultRegion: "gb", strictPhoneValidation: true }, { headers });
      expect(up.settings).toMatchObject({ defaultRegion: "GB", strictPhoneValidation: true, authMode: AuthMode.API_KEY });
      const bad = await client.updateWebhookSettings({ organizationId: BigInt(org.id), defaultRegion: "XX" }, { headers }).catch(codeOf);
      expect(bad).toBe(Code.InvalidArgument);
      const cleared = await client.updateWebhookSettings({ organizationId: BigInt(org.id), defaultRegion: "" }, { headers });
      expect(cleared.settings?.defaultRegion).toBe("");
    });

    it("refuses HMAC mode without an active signing key, and revoking the last key in HMAC mode", async () => {
      const org = await server.createOrg();
      const { client, headers } = settingsClient(server.baseUrl, org.apiKey);
      expect(await client.updateWebhookSettings({ organizationId: BigInt(org.id), authMode: AuthMode.HMAC }, { headers }).catch(codeOf)).toBe(Code.FailedPrecondition);
      const [only] = await enableHmac(server.baseUrl, org.id, org.apiKey, 1);
      expect(await client.revokeSigningKey({ organizationId: BigInt(org.id), keyId: only!.id }, { headers }).catch(codeOf)).toBe(Code.FailedPrecondition);
      await client.updateWebhookSettings({ organizationId: BigInt(org.id), authMode: AuthMode.API_KEY }, { headers });
      const revoked = await client.revokeSigningKey({ organizationId: BigInt(org.id), keyId: only!.id }, { headers });
      expect(revoked.key?.revokedAt).toMatch(/Z$/);
      expect(await client.revokeSigningKey({ organizationId: BigInt(org.id), keyId: "00000000-0000-0000-0000-000000000000" }, { headers }).catch(codeOf)).toBe(Code.NotFound);
    });

    it("creates API keys with scopes, shows them once, lists and revokes them", async () => {
      const org = await server.createOrg();
      const { client, headers } = settingsClient(server.baseUrl, org.apiKey);
      const created = await client.createApiKey({ organizationId: BigInt(org.id), name: "webhook sender", scopes: [ApiKeyScope.INGEST] }, { headers });
      expect(created.secret).toMatch(/^lek_/);
      expect(created.key).toMatchObject({ name: "webhook sender", scopes: [ApiKeyScope.INGEST], prefix: created.secret.slice(0, 12) });
      const list = await client.listApiKeys({ organizationId: BigInt(org.id) }, { headers });
      expect(JSON.stringify(list.keys.map((k) => ({ ...k })), (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain(created.secret);
      expect((await postSigned(bodyFor(org.id), { authorization: `Bearer ${created.secret}` })).status).toBe(200);
      await client.revokeApiKey({ organizationId: BigInt(org.id), keyId: created.key!.id }, { headers });
      expect((await postSigned(bodyFor(org.id), { authorization: `Bearer ${created.secret}` })).status).toBe(401);
      expect(await client.createApiKey({ organizationId: BigInt(org.id), name: "none", scopes: [] }, { headers }).catch(codeOf)).toBe(Code.InvalidArgument);
    });
  });

  describe("HMAC signatures", () => {
    it("rotates: keys A and B both verify; after revoking A, A fails at once and B still works", async () => {
      const org = await server.createOrg();
      const [a, b] = await enableHmac(server.baseUrl, org.id, org.apiKey, 2);
      const body = bodyFor(org.id);
      expect((await postSigned(body, { "x-setter-signature": signPayload(a!.secret, body) })).status).toBe(200);
      expect((await postSigned(body, { "x-setter-signature": signPayload(b!.secret, body) })).status).toBe(200);
      const { client, headers } = settingsClient(server.baseUrl, org.apiKey);
      await client.revokeSigningKey({ organizationId: BigInt(org.id), keyId: a!.id }, { headers });
      const refused = await postSigned(body, { "x-setter-signature": signPayload(a!.secret, body) });
      expect(refused.status).toBe(401);
      expect(refused.body.error.reason).toBe("SIGNATURE_INVALID");
      expect((await postSigned(body, { "x-setter-signature": `  ${signPayload(b!.secret, body)}  ` })).status).toBe(200);
      const keys = await client.listSigningKeys({ organizationId: BigInt(org.id) }, { headers });
      expect(keys.keys.find((k) => k.id === a!.id)?.revokedAt).not.toBe("");
      expect(keys.keys.find((k) => k.id === b!.id)?.lastUsedAt).not.toBe("");
    });

    it("answers short, non-hex and malformed signatures with 401, never 500", async () => {
      const org = await server.createOrg();
      await enableHmac(server.baseUrl, org.id, org.apiKey, 1);
      const body = bodyFor(org.id);
      for (const sig of ["sha256=abc", "sha256=" + "z".repeat(64), "deadbeef", "sha256=" + "a".repeat(63) + "é", ""]) {
        const res = await postSigned(body, { "x-setter-signature": sig });
        expect(res.status, sig).toBe(401);
      }
      const noOrg = Buffer.from(JSON.stringify({ eventType: "x", events: [] }));
      expect((await postSigned(noOrg, { "x-setter-signature": signPayload("x", noOrg) })).status).toBe(401);
    });

    it("refuses a signature for an organization in API key mode, and bearer keys in HMAC mode on every protocol", async () => {
      const apiOrg = await server.createOrg();
      const body = bodyFor(apiOrg.id);
      expect((await postSigned(body, { "x-setter-signature": signPayload("whatever", body) })).status).toBe(401);

      const org = await server.createOrg();
      await enableHmac(server.baseUrl, org.id, org.apiKey, 1);
      const bearer = { authorization: `Bearer ${org.apiKey}` };
      const rest = await postJson(server.baseUrl + REST, JSON.parse(bodyFor(org.id).toString()), bearer);
      expect(rest.status).toBe(401);
      expect(rest.body.error.reason).toBe("SIGNATURE_REQUIRED");
      const req = create(SendLeadEventsRequestSchema, { organizationId: BigInt(org.id), eventType: "t", events: [{ phoneE164: "+14155550140", occurredAt: "2026-11-30T18:34:00Z" }] });
      for (const transport of [
        createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" }),
        createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
        createGrpcTransport({ baseUrl: server.baseUrl }),
      ]) {
        const err = await createClient(LeadEventService, transport).sendLeadEvents(req, { headers: bearer }).catch((e) => e);
        expect(codeOf(err)).toBe(Code.Unauthenticated);
      }
    });

    it("signs gRPC and Connect binary calls with the client interceptor, with and without timestamps", async () => {
      const org = await server.createOrg();
      const [key] = await enableHmac(server.baseUrl, org.id, org.apiKey, 1);
      const req = create(SendLeadEventsRequestSchema, { organizationId: BigInt(org.id), eventType: "signed", events: [{ phoneE164: "+14155550141", occurredAt: "2026-11-30T18:34:00Z" }] });
      const interceptors = [createSigningInterceptor({ secret: key!.secret })];
      const grpc = createClient(LeadEventService, createGrpcTransport({ baseUrl: server.baseUrl, interceptors }));
      expect((await grpc.sendLeadEvents(req)).inserted).toBe(1);
      const binary = createClient(LeadEventService, createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", useBinaryFormat: true, interceptors }));
      expect((await binary.sendLeadEvents(req)).duplicates).toBe(1);
      const wrongKey = createClient(LeadEventService, createGrpcTransport({ baseUrl: server.baseUrl, interceptors: [createSigningInterceptor({ secret: "whsec_wrong" })] }));
      expect(await wrongKey.sendLeadEvents(req).catch(codeOf)).toBe(Code.Unauthenticated);

      const { client, headers } = settingsClient(server.baseUrl, org.apiKey);
      await client.updateWebhookSettings({ organizationId: BigInt(org.id), requireSignatureTimestamp: true }, { headers });
      expect(await grpc.sendLeadEvents(req).catch(codeOf)).toBe(Code.Unauthenticated);
      const timed = createClient(LeadEventService, createGrpcTransport({ baseUrl: server.baseUrl, interceptors: [createSigningInterceptor({ secret: key!.secret, withTimestamp: true })] }));
      expect((await timed.sendLeadEvents(req)).duplicates).toBe(1);
    });

    it("with replay protection, needs X-Setter-Timestamp within 5 minutes and signs '<timestamp>.<body>'", async () => {
      const org = await server.createOrg();
      const [key] = await enableHmac(server.baseUrl, org.id, org.apiKey, 1);
      const { client, headers } = settingsClient(server.baseUrl, org.apiKey);
      await client.updateWebhookSettings({ organizationId: BigInt(org.id), requireSignatureTimestamp: true }, { headers });
      const body = bodyFor(org.id);
      const now = Math.floor(Date.now() / 1000);
      const signAt = (ts: number) => ({ "x-setter-timestamp": String(ts), "x-setter-signature": signPayload(key!.secret, Buffer.concat([Buffer.from(`${ts}.`), body])) });
      expect((await postSigned(body, signAt(now))).status).toBe(200);
      expect((await postSigned(body, signAt(now - 240))).status).toBe(200);
      const stale = await postSigned(body, signAt(now - 400));
      expect(stale.status).toBe(401);
      expect(stale.body.error.reason).toBe("SIGNATURE_TIMESTAMP_INVALID");
      expect((await postSigned(body, signAt(now + 400))).status).toBe(401);
      expect((await postSigned(body, { "x-setter-signature": signPayload(key!.secret, body) })).status).toBe(401);
      expect((await postSigned(body, { "x-setter-timestamp": String(now), "x-setter-signature": signPayload(key!.secret, body) })).status).toBe(401);
    });
  });

  describe("secrets at rest", () => {
    it("stores no API key or signing secret in any table", async () => {
      const org = await server.createOrg();
      const { client, headers } = settingsClient(server.baseUrl, org.apiKey);
      const api = await client.createApiKey({ organizationId: BigInt(org.id), name: "k", scopes: [ApiKeyScope.READ] }, { headers });
      const signing = await client.createSigningKey({ organizationId: BigInt(org.id) }, { headers });
      const dump = await server.app.db.withClient(async (c) => {
        const tables = await c.query<{ t: string }>("select tablename as t from pg_tables where schemaname = 'public'");
        const out: string[] = [];
        for (const { t } of tables.rows) out.push(JSON.stringify((await c.query(`select * from "${t}"`)).rows));
        return out.join("\n");
      });
      for (const secret of [org.apiKey, api.secret, signing.secret]) {
        expect(dump).not.toContain(secret);
        expect(dump).not.toContain(secret.slice(12)); // nor the part after the visible prefix
      }
    });
  });

  describe("scopes and tenancy, for every RPC", () => {
    type Rpc = { name: string; scope: Scope; call: (orgId: number, key: string) => Promise<unknown> };
    let rpcs: Rpc[];
    beforeAll(() => {
      const lead = createClient(LeadEventService, createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" }));
      const settings = createClient(WebhookSettingsService, createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" }));
      const h = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
      const o = (id: number) => BigInt(id);
      rpcs = [
        { name: "SendLeadEvents", scope: "ingest", call: (id, k) => lead.sendLeadEvents({ organizationId: o(id), eventType: "t", events: [{ phoneE164: "+14155550150", occurredAt: "2026-11-30T18:34:00Z" }] }, h(k)) },
        { name: "QueryLeadEvents", scope: "read", call: (id, k) => lead.queryLeadEvents({ organizationId: o(id) }, h(k)) },
        { name: "FilterAudience", scope: "read", call: (id, k) => lead.filterAudience({ organizationId: o(id), filter: { mode: FilterMode.INCLUDE, eventType: "t" }, phones: ["+14155550150"] }, h(k)) },
        { name: "ListEventTypes", scope: "read", call: (id, k) => lead.listEventTypes({ organizationId: o(id) }, h(k)) },
        { name: "DeleteLeadEvents", scope: "admin", call: (id, k) => lead.deleteLeadEvents({ organizationId: o(id), phoneE164: "+14155559999" }, h(k)) },
        { name: "GetWebhookSettings", scope: "admin", call: (id, k) => settings.getWebhookSettings({ organizationId: o(id) }, h(k)) },
        { name: "UpdateWebhookSettings", scope: "admin", call: (id, k) => settings.updateWebhookSettings({ organizationId: o(id), strictPhoneValidation: false }, h(k)) },
        { name: "CreateSigningKey", scope: "admin", call: (id, k) => settings.createSigningKey({ organizationId: o(id) }, h(k)) },
        { name: "ListSigningKeys", scope: "admin", call: (id, k) => settings.listSigningKeys({ organizationId: o(id) }, h(k)) },
        { name: "RevokeSigningKey", scope: "admin", call: (id, k) => settings.revokeSigningKey({ organizationId: o(id), keyId: "00000000-0000-0000-0000-000000000000" }, h(k)) },
        { name: "CreateApiKey", scope: "admin", call: (id, k) => settings.createApiKey({ organizationId: o(id), name: "x", scopes: [ApiKeyScope.READ] }, h(k)) },
        { name: "ListApiKeys", scope: "admin", call: (id, k) => settings.listApiKeys({ organizationId: o(id) }, h(k)) },
        { name: "RevokeApiKey", scope: "admin", call: (id, k) => settings.revokeApiKey({ organizationId: o(id), keyId: "00000000-0000-0000-0000-000000000000" }, h(k)) },
      ];
    });

    it("lets each scope call exactly its RPCs", async () => {
      const org = await server.createOrg();
      for (const scope of ["ingest", "read", "admin"] as const) {
        const key = await server.createKey(org.id, [scope]);
        for (const rpc of rpcs) {
          const outcome = await rpc.call(org.id, key).then(() => "ok", (e) => codeOf(e));
          if (rpc.scope === scope) expect(outcome, `${scope} -> ${rpc.name}`).not.toBe(Code.PermissionDenied);
          else expect(outcome, `${scope} -> ${rpc.name}`).toBe(Code.PermissionDenied);
        }
      }
    });

    it("never lets a key of A touch B, and answers the same whether B exists or not", async () => {
      const a = await server.createOrg();
      const b = await server.createOrg();
      for (const rpc of rpcs) {
        const existing = await rpc.call(b.id, a.apiKey).then(() => "ok", (e) => e as ConnectError);
        const missing = await rpc.call(b.id + 100000, a.apiKey).then(() => "ok", (e) => e as ConnectError);
        expect(codeOf(existing), rpc.name).toBe(Code.PermissionDenied);
        expect(codeOf(missing), rpc.name).toBe(Code.PermissionDenied);
        expect((existing as ConnectError).rawMessage.replace(String(b.id), "N")).toBe((missing as ConnectError).rawMessage.replace(String(b.id + 100000), "N"));
      }
      const settings = createClient(WebhookSettingsService, createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" }));
      const bKeys = await settings.listApiKeys({ organizationId: BigInt(b.id) }, { headers: { authorization: `Bearer ${b.apiKey}` } });
      expect(bKeys.keys).toHaveLength(1); // nothing of A's attempts landed in B
    });
  });
});
