// POST /api/v1/webhooks/lead-events (REST) and Connect JSON SendLeadEvents share this path:
// raw bytes -> caller -> SendInput -> the same sendLeadEvents() as gRPC. Only the error
// envelope and the over-cap status differ (REST 413; Connect's own mapping, 429).
import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import { AppError, type ErrorCode } from "../domain/errors.js";
import { authenticateBearer, authenticateSignature } from "../service/auth.js";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../domain/signature.js";
import type { ServiceContext } from "../service/context.js";
import { sendLeadEvents } from "../service/send-lead-events.js";
import { CONNECT_STATUS, REST_STATUS, toAppError } from "../rpc/errors.js";
import { sendResultToJson } from "../rpc/mapping.js";
import { bodyTooLarge, decodeUtf8Body, firstHeader, MAX_BODY_BYTES, parseJsonText, readBody, type NodeRequest } from "./body.js";
import { organizationIdOf, sendInputFromEnvelope, sendInputFromJson } from "./send-body.js";
import { openLazySendBody } from "./send-json-stream.js";
import { isDatabaseUnavailable } from "../db/errors.js";

export type NodeResponse = ServerResponse | Http2ServerResponse;
export type Envelope = "rest" | "connect";

export async function handleJsonSend(svc: ServiceContext, req: NodeRequest, res: NodeResponse, envelope: Envelope, query: URLSearchParams): Promise<void> {
  try {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) throw bodyTooLarge(MAX_BODY_BYTES);
    // A signed request is authenticated by its body; otherwise the bearer key is checked
    // before the body is read.
    const signature = firstHeader(req, SIGNATURE_HEADER);
    const bearer = signature === undefined ? await authenticateBearer(svc, firstHeader(req, "authorization")) : undefined;
    const body = await readBody(req);
    const text = decodeUtf8Body(body);
    const validateOnlyParam = query.get("validateOnly") === "true";
    const callerFor = async (json: unknown) =>
      bearer ?? (await authenticateSignature(svc, { signature: signature!, timestamp: firstHeader(req, TIMESTAMP_HEADER), payload: body, organizationId: organizationIdOf(json) }));
    const sendWhole = async () => {
      const json = parseJsonText(text);
      return sendLeadEvents(svc, await callerFor(json), sendInputFromJson(json, validateOnlyParam));
    };
    // A large body is read lazily (see send-json-stream.ts): only its members before events are
    // parsed up front. A signed body names the organization whose keys to try: when that member
    // is not before the events, the body is read whole rather than guessed at.
    const lazy = openLazySendBody(text);
    let result;
    if (lazy === null || (signature !== undefined && organizationIdOf(lazy.envelope) === undefined)) {
      result = await sendWhole();
    } else {
      try {
        result = await sendLeadEvents(svc, await callerFor(lazy.envelope), sendInputFromEnvelope(lazy.envelope, lazy.events, validateOnlyParam));
      } catch (err) {
        if (isDatabaseUnavailable(err)) throw err;
        // Any refusal may come from what the lazy reading has not seen yet: a member repeated
        // after events (the last one counts), or a malformed body. The whole-body reading
        // decides, with its own answer or error. Nothing of the failed attempt was stored.
        result = await sendWhole();
      }
    }
    writeJson(res, 200, sendResultToJson(result));
  } catch (err) {
    const app = toAppError(err, svc.log);
    writeError(req, res, envelope, app);
  }
}

export function writeJson(res: NodeResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), ...extra });
  res.end(body);
}

export function writeError(req: NodeRequest, res: NodeResponse, envelope: Envelope, err: AppError): void {
  const status = (envelope === "rest" ? REST_STATUS : CONNECT_STATUS)[err.code as ErrorCode];
  // A refused request may still be sending its body: close an HTTP/1.1 connection rather
  // than read megabytes we will not use.
  const extra: Record<string, string> = req.httpVersionMajor === 1 && !req.readableEnded ? { connection: "close" } : {};
  const body = envelope === "rest"
    ? JSON.stringify({ error: { code: err.code, reason: err.reason, message: err.message } })
    : JSON.stringify({ code: err.code, message: err.message });
  writeJson(res, status, body, extra);
}
