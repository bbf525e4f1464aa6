// One request handler for HTTP/1.1 and HTTP/2: health, the REST route, the JSON and protobuf
// fast paths of SendLeadEvents, then everything Connect/gRPC/gRPC-web.
import { randomUUID } from "node:crypto";
import type { DescMethod } from "@bufbuild/protobuf";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import { LeadEventService } from "../../gen/leadevents/v1/lead_event_service_pb.js";
import { WebhookSettingsService } from "../../gen/leadevents/v1/webhook_settings_service_pb.js";
import type { ServerResponse } from "node:http";
import type { ServiceContext } from "../service/context.js";
import { logContext } from "../logger.js";
import { firstHeader, type NodeRequest } from "./body.js";
import { handleJsonSend, writeJson, type NodeResponse } from "./json-send-route.js";
import { handleProtoSend } from "./proto-send-route.js";
import { protoProtocolOf } from "./proto-protocols.js";
import { writeRpcRefusal } from "./rpc-refusal.js";
import { SIGNATURE_HEADER } from "../domain/signature.js";
import { authenticateBearer } from "../service/auth.js";
import { unauthenticated } from "../domain/errors.js";
import { toConnectError } from "../rpc/errors.js";

export const REST_SEND_PATH = "/api/v1/webhooks/lead-events";
export const CONNECT_SEND_PATH = "/leadevents.v1.LeadEventService/SendLeadEvents";
/** Every RPC of this service's own APIs (health and reflection are not under it). */
const RPC_PATH_PREFIX = "/leadevents.v1.";
/** The kind of each of those RPCs, by path; an unknown path is left to connect-node (404). */
const RPC_METHOD_KINDS = new Map<string, DescMethod["methodKind"]>(
  [LeadEventService, WebhookSettingsService].flatMap((service) => service.methods.map((m) => [`/${service.typeName}/${m.name}`, m.methodKind] as const)),
);

export interface HttpHandlerOptions {
  svc: ServiceContext;
  /** This service's own RPCs (leadevents.v1.*). */
  connect: ReturnType<typeof connectNodeAdapter>;
  /** Everything else: gRPC health checking and reflection (and the 404s of unknown paths). */
  infrastructure: ReturnType<typeof connectNodeAdapter>;
  /** True once the database answers and migrations are applied. */
  isReady: () => Promise<boolean>;
  onRequestStart: () => void;
  onRequestEnd: () => void;
}

export function createHttpHandler(opts: HttpHandlerOptions) {
  const { svc } = opts;
  return (req: NodeRequest, res: NodeResponse): void => {
    const started = process.hrtime.bigint();
    const incoming = req.headers["x-request-id"];
    const requestId = typeof incoming === "string" && /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    res.setHeader("x-request-id", requestId);
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    opts.onRequestStart();
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      opts.onRequestEnd();
      svc.log.info("request", {
        requestId, method: req.method, path, status: res.statusCode,
        grpcStatus: res.getHeader("grpc-status") ?? undefined,
        ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
      });
    };
    if (req.httpVersionMajor === 1) closeIfUnread(req, res as ServerResponse);
    res.once("finish", finish);
    res.once("close", finish);

    const run = async () => {
      if (path === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
        const ready = await opts.isReady().catch(() => false);
        writeJson(res, ready ? 200 : 503, JSON.stringify({ status: ready ? "ok" : "unavailable" }));
        return;
      }
      if (path === REST_SEND_PATH) {
        if (req.method !== "POST") {
          writeJson(res, 405, JSON.stringify({ error: { code: "method_not_allowed", reason: "METHOD_NOT_ALLOWED", message: "use POST" } }), { allow: "POST" });
          return;
        }
        await handleJsonSend(svc, req, res, "rest", new URLSearchParams(q < 0 ? "" : url.slice(q + 1)));
        return;
      }
      if (path === CONNECT_SEND_PATH && req.method === "POST") {
        if (isJson(req.headers["content-type"])) {
          await handleJsonSend(svc, req, res, "connect", new URLSearchParams());
          return;
        }
        // Connect binary and gRPC (HTTP/2); gRPC-web and the rest stay with connect-node.
        const protocol = protoProtocolOf(req, res);
        if (protocol) {
          await handleProtoSend(svc, req, protocol);
          return;
        }
      }
      if (!path.startsWith(RPC_PATH_PREFIX)) {
        opts.infrastructure(req, res);
        return;
      }
      const methodKind = RPC_METHOD_KINDS.get(path);
      if (req.method === "POST" && methodKind !== undefined) {
        // connect-node decodes a whole request (up to 10 MB, with protobuf-es) before any handler
        // runs: a call without a valid API key is refused first, its body unread (crafted
        // messages cost seconds of event loop otherwise). A signed SendLeadEvents needs its body
        // to be authenticated, so it is only taken where this server reads the body itself (the
        // routes above); what reaches here is gRPC-web, the gRPC JSON codec or a Connect
        // streaming content type.
        const refusal = path === CONNECT_SEND_PATH && req.headers[SIGNATURE_HEADER] !== undefined
          ? unauthenticated("SIGNATURE_PROTOCOL_UNSUPPORTED", "X-Setter-Signature is accepted over REST, Connect (JSON or binary) and gRPC with protobuf messages; over this protocol send Authorization: Bearer <api key>")
          : await authenticateBearer(svc, firstHeader(req, "authorization")).then(() => undefined, (err: unknown) => err);
        if (refusal !== undefined && (await writeRpcRefusal(req, res, toConnectError(refusal, svc.log), methodKind))) return;
      }
      opts.connect(req, res);
    };
    logContext.run({ requestId }, run).catch((err) => {
      svc.log.error("unhandled request failure", { requestId, error: String(err) });
      if (!res.headersSent) writeJson(res, 500, JSON.stringify({ code: "internal", message: "internal error" }));
      else res.end();
    });
  };
}

function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const base = contentType.split(";")[0]!.trim().toLowerCase();
  return base === "application/json";
}

/**
 * A refused HTTP/1.1 request may not have been read to its end (a body over the cap): that
 * connection cannot carry another request, so the answer says "Connection: close" and the
 * socket is closed after it.
 */
function closeIfUnread(req: NodeRequest, res: ServerResponse): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: Parameters<typeof writeHead>) {
    if (!req.complete) this.shouldKeepAlive = false;
    return writeHead.apply(this, args);
  } as typeof writeHead;
}
