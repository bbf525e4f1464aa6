// grpc.health.v1 and server reflection (v1 and v1alpha), so standard gRPC tools work:
// grpc_health_probe and Kubernetes gRPC probes, grpcurl, Postman, evans.
//
// No authentication on purpose: these services expose only what is already public (the
// API contract that ships with the protos, and whether the server and its database answer).
// They never read or reveal organization data, so they stay open like /healthz.
import { setTimeout as sleep } from "node:timers/promises";
import { toBinary, type DescFile, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ServerReflectionV1, type ServerReflectionRequest as RequestV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  ServerReflection as ServerReflectionV1alpha,
  type ServerReflectionRequest as RequestV1alpha,
} from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { LeadEventService } from "../../gen/leadevents/v1/lead_event_service_pb.js";
import { WebhookSettingsService } from "../../gen/leadevents/v1/webhook_settings_service_pb.js";
import { describeError } from "../logger.js";
import type { ServiceContext } from "../service/context.js";

export interface GrpcInfrastructureOptions {
  /** How often Health.Watch re-checks the database. */
  watchIntervalMs?: number;
  /** A database ping slower than this counts as NOT_SERVING. */
  pingTimeoutMs?: number;
}

/** Health answers for the server as a whole ("") and for each application service. */
const HEALTH_SERVICES: ReadonlySet<string> = new Set(["", LeadEventService.typeName, WebhookSettingsService.typeName]);

export function grpcInfrastructureRoutes(svc: ServiceContext, options: GrpcInfrastructureOptions = {}): (router: ConnectRouter) => void {
  const watchIntervalMs = options.watchIntervalMs ?? 3_000;
  const probe = createDatabaseProbe(svc, options.pingTimeoutMs ?? 2_000);
  return (router: ConnectRouter) => {
    router.service(Health, {
      async check(req) {
        if (!HEALTH_SERVICES.has(req.service)) throw new ConnectError(`unknown service ${JSON.stringify(req.service)}`, Code.NotFound);
        return { status: await probe() };
      },
      // Like the official servers: an unknown name gets SERVICE_UNKNOWN and the stream stays
      // open (it can never become known here, but clients expect the call not to end).
      async *watch(req, ctx) {
        const current = HEALTH_SERVICES.has(req.service) ? probe : async () => ServingStatus.SERVICE_UNKNOWN;
        let last = await current();
        yield { status: last };
        while (!ctx.signal.aborted) {
          if (!(await pause(watchIntervalMs, ctx))) return;
          const now = await current();
          if (now !== last) {
            last = now;
            yield { status: now };
          }
        }
      },
    });
    // Read lazily: the application's services may be registered on the router after this.
    const reflection = createReflection(() => router.handlers.map((h) => h.service));
    router.service(ServerReflectionV1, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) yield reflectionResponse(reflection, req);
      },
    });
    router.service(ServerReflectionV1alpha, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) yield reflectionResponse(reflection, req);
      },
    });
  };
}

/** Waits, or returns false as soon as the call ends. */
async function pause(ms: number, ctx: HandlerContext): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal: ctx.signal });
    return true;
  } catch {
    return false;
  }
}

/**
 * SERVING when the database answers within timeoutMs. Concurrent callers (many Watch streams,
 * a burst of probes) share one ping.
 */
function createDatabaseProbe(svc: ServiceContext, timeoutMs: number): () => Promise<ServingStatus> {
  let inFlight: Promise<ServingStatus> | undefined;
  let lastLogged = ServingStatus.SERVING;
  const pingOnce = async (): Promise<ServingStatus> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        svc.db.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`database ping took longer than ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      if (lastLogged !== ServingStatus.SERVING) svc.log.info("grpc health: serving again");
      lastLogged = ServingStatus.SERVING;
      return ServingStatus.SERVING;
    } catch (err) {
      if (lastLogged !== ServingStatus.NOT_SERVING) svc.log.warn("grpc health: not serving, database ping failed", describeError(err));
      lastLogged = ServingStatus.NOT_SERVING;
      return ServingStatus.NOT_SERVING;
    } finally {
      clearTimeout(timer);
    }
  };
  return () => {
    if (!inFlight) {
      const p = pingOnce();
      inFlight = p;
      void p.finally(() => {
        if (inFlight === p) inFlight = undefined;
      });
    }
    return inFlight;
  };
}

// ---- Server reflection ----

type MessageRequest = RequestV1["messageRequest"] | RequestV1alpha["messageRequest"];

/** The answer part of a ServerReflectionResponse, the same for v1 and v1alpha. */
type MessageResponse =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

interface Reflection {
  answer(request: MessageRequest): MessageResponse;
}

function reflectionResponse<R extends RequestV1 | RequestV1alpha>(reflection: Reflection, req: R) {
  return { validHost: req.host, originalRequest: req, messageResponse: reflection.answer(req.messageRequest) };
}

interface ReflectionIndex {
  services: string[];
  files: Map<string, DescFile>;
  symbols: Map<string, DescFile>;
}

function createReflection(registeredServices: () => DescService[]): Reflection {
  let cached: { key: string; index: ReflectionIndex } | undefined;
  const index = (): ReflectionIndex => {
    const services = registeredServices();
    const key = services.map((s) => s.typeName).join("\n");
    if (cached?.key !== key) cached = { key, index: buildIndex(services) };
    return cached.index;
  };
  const encoded = new WeakMap<DescFile, Uint8Array>();
  const encode = (file: DescFile): Uint8Array => {
    let bytes = encoded.get(file);
    if (!bytes) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      encoded.set(file, bytes);
    }
    return bytes;
  };
  const withDependencies = (file: DescFile): MessageResponse => {
    // The requested file first (some clients read only the first), then everything it
    // imports, transitively, each once.
    const out: DescFile[] = [];
    const seen = new Set<string>();
    const visit = (f: DescFile) => {
      if (seen.has(f.proto.name)) return;
      seen.add(f.proto.name);
      out.push(f);
      for (const dep of f.dependencies) visit(dep);
    };
    visit(file);
    return { case: "fileDescriptorResponse", value: { fileDescriptorProto: out.map(encode) } };
  };
  const error = (code: Code, message: string): MessageResponse => ({ case: "errorResponse", value: { errorCode: code, errorMessage: message } });

  return {
    answer(request) {
      switch (request.case) {
        case "listServices":
          return { case: "listServicesResponse", value: { service: index().services.map((name) => ({ name })) } };
        case "fileByFilename": {
          const file = index().files.get(request.value);
          return file ? withDependencies(file) : error(Code.NotFound, `file not found: ${request.value}`);
        }
        case "fileContainingSymbol": {
          const name = request.value.startsWith(".") ? request.value.slice(1) : request.value;
          const file = index().symbols.get(name);
          return file ? withDependencies(file) : error(Code.NotFound, `symbol not found: ${request.value}`);
        }
        case "fileContainingExtension":
        case "allExtensionNumbersOfType":
          return error(Code.Unimplemented, "extension queries are not supported by this server");
        default:
          return error(Code.InvalidArgument, "the request sets no message_request");
      }
    },
  };
}

/** Every file the registered services need, and every fully-qualified name declared in them. */
function buildIndex(registered: DescService[]): ReflectionIndex {
  const services: string[] = [];
  const files = new Map<string, DescFile>();
  const symbols = new Map<string, DescFile>();
  const addFile = (file: DescFile) => {
    if (files.has(file.proto.name)) return;
    files.set(file.proto.name, file);
    for (const dep of file.dependencies) addFile(dep);
    const add = (name: string) => {
      if (!symbols.has(name)) symbols.set(name, file);
    };
    const scopeOf = (typeName: string) => typeName.slice(0, Math.max(0, typeName.lastIndexOf(".")));
    const addEnum = (e: DescFile["enums"][number]) => {
      add(e.typeName);
      // Enum values are scoped as siblings of their enum, as in protoc.
      const scope = scopeOf(e.typeName);
      for (const v of e.values) add(scope ? `${scope}.${v.name}` : v.name);
    };
    const addMessage = (m: DescMessage) => {
      add(m.typeName);
      for (const f of m.fields) add(`${m.typeName}.${f.name}`);
      for (const o of m.oneofs) add(`${m.typeName}.${o.name}`);
      for (const x of m.nestedExtensions) add(x.typeName);
      m.nestedEnums.forEach(addEnum);
      m.nestedMessages.forEach(addMessage);
    };
    for (const s of file.services) {
      add(s.typeName);
      for (const m of s.methods) add(`${s.typeName}.${m.name}`);
    }
    file.messages.forEach(addMessage);
    file.enums.forEach(addEnum);
    for (const x of file.extensions) add(x.typeName);
  };
  for (const s of registered) {
    if (!services.includes(s.typeName)) services.push(s.typeName);
    addFile(s.file);
  }
  return { services, files, symbols };
}
