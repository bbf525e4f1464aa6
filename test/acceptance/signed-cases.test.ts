// The signed scenarios of ../shared/cases (those with a `rawBody`, such as hmac.json): an
// organization in HMAC mode with one signing key per listed secret (created through the API; the
// case's own secrets are only examples), raw bodies signed byte for byte, over the REST route
// and Connect JSON; the same calls over gRPC sign the serialized message instead.
import { fromJson, toBinary, toJson, type JsonObject } from "@bufbuild/protobuf";
import { createClient, ConnectError, Code } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeadEventService, SendLeadEventsRequestSchema, SendLeadEventsResponseSchema } from "../../gen/leadevents/v1/lead_event_service_pb.js";
import { signPayload } from "../../src/domain/signature.js";
import fs from "node:fs";
import { HAS_SHARED, readSharedJson, sharedPath } from "../support/shared.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { enableHmac, settingsClient } from "../support/settings-client.js";
import { expectSendResponse } from "../support/expect-send.js";

const PATHS = { rest: "/api/v1/webhooks/lead-events", "connect-json": "/leadevents.v1.LeadEventService/SendLeadEvents" } as const;

const signedCases = HAS_SHARED
  ? fs.readdirSync(sharedPath("cases")).filter((f) => f.endsWith(".json")).sort().map((f) => readSharedJson("cases", f)).filter((c) => typeof c.rawBody === "string")
  : [];

describe.skipIf(!HAS_SHARED)("signed acceptance cases", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it("finds hmac.json", () => {
    expect(signedCases.map((c) => c.name)).toContain("hmac");
  });

  for (const c of signedCases) {
    for (const [name, v] of Object.entries((c.vectors ?? {}) as Record<string, any>)) {
      it(`${c.name}: the signing function matches the ${name} test vector`, () => {
        expect(signPayload(v.secret, v.payload)).toBe(v.signature);
      });
    }

  for (const transport of ["rest", "connect-json", "grpc"] as const) {
    it(`${c.name}: every call over ${transport}`, async () => {
      const org = await server.createOrg({ defaultRegion: c.org?.defaultRegion });
      const [a, b] = await enableHmac(server.baseUrl, org.id, org.apiKey, Math.max(2, c.org?.signingSecrets?.length ?? 2));
      const body = Buffer.from((c.rawBody as string).replaceAll("{{org}}", String(org.id)), "utf8");
      // gRPC signs the serialized message; the "without trailing newline" variant drops its last byte.
      const payload = transport === "grpc" ? Buffer.from(toBinary(SendLeadEventsRequestSchema, fromJson(SendLeadEventsRequestSchema, JSON.parse(body.toString()) as JsonObject))) : body;

      for (const [i, call] of (c.calls as any[]).entries()) {
        const headers: Record<string, string> = {};
        switch (call.sign) {
          case "A":
            headers["x-setter-signature"] = signPayload(a!.secret, payload);
            break;
          case "B-upper":
            headers["x-setter-signature"] = "sha256=" + signPayload(b!.secret, payload).slice(7).toUpperCase();
            break;
          case "A-over-body-without-trailing-newline":
            headers["x-setter-signature"] = signPayload(a!.secret, payload.subarray(0, payload.length - 1));
            break;
          case "none-bearer-only":
            headers.authorization = `Bearer ${org.apiKey}`;
            break;
          case "revoked-A": {
            const { client, headers: h } = settingsClient(server.baseUrl, org.apiKey);
            await client.revokeSigningKey({ organizationId: BigInt(org.id), keyId: a!.id }, { headers: h });
            headers["x-setter-signature"] = signPayload(a!.secret, payload);
            break;
          }
          default:
            throw new Error(`unknown sign mode ${call.sign}`);
        }
        if (transport === "grpc") {
          const client = createClient(LeadEventService, createGrpcTransport({ baseUrl: server.baseUrl }));
          try {
            const res = await client.sendLeadEvents(fromJson(SendLeadEventsRequestSchema, JSON.parse(body.toString()) as JsonObject), { headers });
            expect(call.expect.error, `call ${i} (${call.sign}) should fail`).toBeUndefined();
            expectSendResponse(toJson(SendLeadEventsResponseSchema, res, { alwaysEmitImplicit: true }), call.expect);
          } catch (err) {
            if (!(err instanceof ConnectError)) throw err;
            expect(call.expect.error, `call ${i} (${call.sign}): ${err.message}`).toBe("unauthenticated");
            expect(err.code).toBe(Code.Unauthenticated);
          }
          continue;
        }
        const res = await fetch(server.baseUrl + PATHS[transport], { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
        const json = (await res.json()) as any;
        if (call.expect.error) {
          expect(res.status, `call ${i} (${call.sign})`).toBe(call.expect.http);
          expect(transport === "rest" ? json.error.code : json.code).toBe(call.expect.error);
        } else {
          expect(res.status, `call ${i} (${call.sign}): ${JSON.stringify(json)}`).toBe(200);
          expectSendResponse(json, call.expect);
        }
      }
    });
  }
  }
});
