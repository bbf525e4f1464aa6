// grpc.health.v1 and server reflection over real gRPC (h2c) against the real server, with the
// Connect client and with @grpc/grpc-js, the way grpc_health_probe and grpcurl would call them.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFileRegistry, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import {
  ServerReflection,
  type ServerReflectionRequestSchema,
  type ServerReflectionResponse,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

let server: TestServer;
let health: Client<typeof Health>;
let reflection: Client<typeof ServerReflection>;

beforeAll(async () => {
  server = await startTestServer();
  // gRPC over h2c; connect-node 2.x gRPC transports are always HTTP/2 (no httpVersion option).
  const transport = createGrpcTransport({ baseUrl: server.baseUrl });
  health = createClient(Health, transport);
  reflection = createClient(ServerReflection, transport);
});

afterAll(async () => {
  await server?.close();
});

/** Sends the requests on one bidi stream and collects every response. */
async function reflect(...requests: MessageInitShape<typeof ServerReflectionRequestSchema>[]): Promise<ServerReflectionResponse[]> {
  async function* send() {
    yield* requests;
  }
  const out: ServerReflectionResponse[] = [];
  for await (const res of reflection.serverReflectionInfo(send())) out.push(res);
  return out;
}

function descriptors(res: ServerReflectionResponse): FileDescriptorProto[] {
  if (res.messageResponse.case !== "fileDescriptorResponse") throw new Error(`expected descriptors, got ${res.messageResponse.case}`);
  return res.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
}

/** Temporarily makes the database look down. */
async function withDatabaseDown<T>(fn: () => Promise<T>): Promise<T> {
  const db = server.ctx.db;
  const ping = db.ping;
  db.ping = () => Promise.reject(new Error("simulated outage"));
  try {
    return await fn();
  } finally {
    db.ping = ping;
  }
}

describe("grpc.health.v1.Health (Connect gRPC client)", () => {
  it.each(["", "leadevents.v1.LeadEventService", "leadevents.v1.WebhookSettingsService"])("Check %j is SERVING", async (service) => {
    const res = await health.check({ service });
    expect(res.status).toBe(ServingStatus.SERVING);
  });

  it("Check of an unknown service fails with NOT_FOUND", async () => {
    const err = await health.check({ service: "nope.v1.Missing" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);
  });

  it("Check is NOT_SERVING while the database does not answer", async () => {
    const res = await withDatabaseDown(() => health.check({ service: "" }));
    expect(res.status).toBe(ServingStatus.NOT_SERVING);
    expect((await health.check({ service: "" })).status).toBe(ServingStatus.SERVING);
  });

  it("Watch sends the current status, then changes, and ends when the client cancels", async () => {
    const abort = new AbortController();
    const seen: ServingStatus[] = [];
    const db = server.ctx.db;
    const ping = db.ping;
    try {
      for await (const res of health.watch({ service: "" }, { signal: abort.signal })) {
        seen.push(res.status);
        if (seen.length === 1) db.ping = () => Promise.reject(new Error("simulated outage"));
        else abort.abort();
      }
    } catch (err) {
      expect(ConnectError.from(err).code).toBe(Code.Canceled);
    } finally {
      db.ping = ping;
    }
    expect(seen).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
  }, 20_000);

  it("Watch of an unknown service sends SERVICE_UNKNOWN and stays open", async () => {
    const abort = new AbortController();
    const seen: ServingStatus[] = [];
    try {
      for await (const res of health.watch({ service: "nope.v1.Missing" }, { signal: abort.signal })) {
        seen.push(res.status);
        setTimeout(() => abort.abort(), 200);
      }
    } catch (err) {
      expect(ConnectError.from(err).code).toBe(Code.Canceled);
    }
    expect(seen).toEqual([ServingStatus.SERVICE_UNKNOWN]);
  });
});

describe("grpc.health.v1.Health (@grpc/grpc-js + proto-loader)", () => {
  type CheckFn = (req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void) => void;
  let client: grpc.Client & { Check: CheckFn };

  beforeAll(async () => {
    const def = await protoLoader.load(path.join(root, "proto/grpc/health/v1/health.proto"), { enums: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as any;
    client = new pkg.grpc.health.v1.Health(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  });

  afterAll(() => client?.close());

  const check = (service: string) =>
    new Promise<{ status: string }>((resolve, reject) => client.Check({ service }, (err, res) => (err ? reject(err) : resolve(res!))));

  it("Check '' is SERVING", async () => {
    expect(await check("")).toEqual({ status: "SERVING" });
    expect(await check("leadevents.v1.LeadEventService")).toEqual({ status: "SERVING" });
  });

  it("Check of an unknown service fails with NOT_FOUND", async () => {
    const err = (await check("nope.v1.Missing").catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.NOT_FOUND);
  });
});

describe("grpc.reflection.v1.ServerReflection", () => {
  it("lists the services", async () => {
    const [res] = await reflect({ host: "localhost", messageRequest: { case: "listServices", value: "*" } });
    expect(res!.validHost).toBe("localhost");
    expect(res!.originalRequest?.messageRequest).toEqual({ case: "listServices", value: "*" });
    expect(res!.messageResponse.case).toBe("listServicesResponse");
    const names = res!.messageResponse.case === "listServicesResponse" ? res!.messageResponse.value.service.map((s) => s.name) : [];
    expect(names.sort()).toEqual(
      [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "leadevents.v1.LeadEventService",
        "leadevents.v1.WebhookSettingsService",
      ].sort(),
    );
  });

  it("returns the file declaring a service with its transitive dependencies", async () => {
    const [res] = await reflect({ messageRequest: { case: "fileContainingSymbol", value: "leadevents.v1.LeadEventService" } });
    const files = descriptors(res!);
    expect(files[0]!.name).toBe("leadevents/v1/lead_event_service.proto");
    expect(files.map((f) => f.name)).toContain("google/protobuf/struct.proto");
    const service = files[0]!.service.find((s) => s.name === "LeadEventService");
    expect(service).toBeDefined();
    expect(service!.method.map((m) => m.name)).toEqual(
      expect.arrayContaining(["SendLeadEvents", "QueryLeadEvents", "FilterAudience", "FilterAudienceStream", "ListEventTypes", "DeleteLeadEvents"]),
    );
    expect(service!.method.find((m) => m.name === "FilterAudienceStream")?.clientStreaming).toBe(true);
    // The answer is self-contained: every import resolves within it, as a client needs.
    const registry = createFileRegistry(files[0]!, (name) => files.find((f) => f.name === name));
    const method = registry.getService("leadevents.v1.LeadEventService")?.methods.find((m) => m.name === "SendLeadEvents");
    expect(method?.input.typeName).toBe("leadevents.v1.SendLeadEventsRequest");
    expect(registry.getMessage("leadevents.v1.LeadEvent")?.field.metadata?.message?.typeName).toBe("google.protobuf.Value");
  });

  it("finds methods, messages, enums and enum values, and files by name, on one stream", async () => {
    const responses = await reflect(
      { messageRequest: { case: "fileContainingSymbol", value: "leadevents.v1.LeadEventService.SendLeadEvents" } },
      { messageRequest: { case: "fileContainingSymbol", value: "leadevents.v1.LeadEvent" } },
      { messageRequest: { case: "fileContainingSymbol", value: "leadevents.v1.RejectCode" } },
      { messageRequest: { case: "fileContainingSymbol", value: "google.protobuf.Value" } },
      { messageRequest: { case: "fileContainingSymbol", value: "grpc.health.v1.HealthCheckResponse.ServingStatus" } },
      { messageRequest: { case: "fileByFilename", value: "grpc/health/v1/health.proto" } },
      { messageRequest: { case: "fileContainingSymbol", value: "leadevents.v1.WebhookSettingsService" } },
    );
    expect(responses.map((r) => descriptors(r)[0]!.name)).toEqual([
      "leadevents/v1/lead_event_service.proto",
      "leadevents/v1/lead_event_service.proto",
      "leadevents/v1/lead_event_service.proto",
      "google/protobuf/struct.proto",
      "grpc/health/v1/health.proto",
      "grpc/health/v1/health.proto",
      "leadevents/v1/webhook_settings_service.proto",
    ]);
    // Descriptors keep proto3 syntax (clients would otherwise read the files as proto2).
    expect(descriptors(responses[0]!)[0]!.syntax).toBe("proto3");
  });

  it("answers unknown symbols and files with NOT_FOUND and extension queries with UNIMPLEMENTED", async () => {
    const responses = await reflect(
      { messageRequest: { case: "fileContainingSymbol", value: "leadevents.v1.NoSuchThing" } },
      { messageRequest: { case: "fileByFilename", value: "nope/v1/missing.proto" } },
      { messageRequest: { case: "fileContainingExtension", value: { containingType: "leadevents.v1.LeadEvent", extensionNumber: 100 } } },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "leadevents.v1.LeadEvent" } },
    );
    const codes = responses.map((r) => (r.messageResponse.case === "errorResponse" ? r.messageResponse.value.errorCode : -1));
    expect(codes).toEqual([5, 5, 12, 12]);
  });
});

describe("grpc.reflection.v1alpha.ServerReflection", () => {
  it("answers like v1", async () => {
    const client = createClient(ServerReflectionV1alpha, createGrpcTransport({ baseUrl: server.baseUrl }));
    async function* send() {
      yield { messageRequest: { case: "listServices" as const, value: "" } };
      yield { messageRequest: { case: "fileContainingSymbol" as const, value: "leadevents.v1.LeadEventService" } };
    }
    const out = [];
    for await (const res of client.serverReflectionInfo(send())) out.push(res);
    expect(out[0]!.messageResponse.case).toBe("listServicesResponse");
    expect(out[1]!.messageResponse.case).toBe("fileDescriptorResponse");
    const first = out[1]!.messageResponse.case === "fileDescriptorResponse" ? out[1]!.messageResponse.value.fileDescriptorProto[0]! : new Uint8Array();
    expect(fromBinary(FileDescriptorProtoSchema, first).service[0]!.name).toBe("LeadEventService");
  });
});
