// Answers an RPC with an error in the caller's own protocol (Connect unary or streaming, gRPC,
// gRPC-web; JSON or protobuf) without parsing its body. The answer has the shape connect-node
// gives the same error: status and JSON body for Connect unary, an end-of-stream message for
// Connect streams, trailers for gRPC, a trailer frame for gRPC-web.
import type { DescMethod } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  endStreamFlag,
  endStreamToJson,
  errorToJsonBytes,
  parseContentType as parseConnectContentType,
} from "@connectrpc/connect/protocol-connect";
import { parseContentType as parseGrpcContentType, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { parseContentType as parseGrpcWebContentType, trailerFlag, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import type { OutgoingHttpHeaders } from "node:http";
import http2, { type Http2ServerRequest } from "node:http2";
import { firstHeader, MAX_BODY_BYTES, type NodeRequest } from "./body.js";
import type { NodeResponse } from "./json-send-route.js";

/**
 * Writes `err` in the request's protocol, its body discarded unparsed (see discardBody); false,
 * with nothing written or read, when the content type is none connect-node serves.
 */
export async function writeRpcRefusal(req: NodeRequest, res: NodeResponse, err: ConnectError, methodKind: DescMethod["methodKind"]): Promise<boolean> {
  const contentType = firstHeader(req, "content-type") ?? null;
  // What connect-node itself refuses from the headers (a content type of the other kind of
  // method, bidi over HTTP/1.1) it refuses without reading the body: its answer is the right one.
  const unary = methodKind === "unary";
  const connect = parseConnectContentType(contentType);
  if (connect && connect.stream === unary) return false;
  if (methodKind === "bidi_streaming" && req.httpVersionMajor === 1) return false;
  let answer: { status: number; headers: OutgoingHttpHeaders; body?: Uint8Array; trailers?: OutgoingHttpHeaders };
  const grpcWeb = parseGrpcWebContentType(contentType);
  if (grpcWeb) {
    if (grpcWeb.text) return false; // connect-node does not speak grpc-web-text: let it refuse
    answer = { status: 200, headers: { "content-type": contentType! }, body: encodeEnvelope(trailerFlag, trailerSerialize(setTrailerStatus(new Headers(), err))) };
  } else if (parseGrpcContentType(contentType)) {
    const trailers: OutgoingHttpHeaders = {};
    setTrailerStatus(new Headers(), err).forEach((value, key) => void (trailers[key] = value));
    answer = { status: 200, headers: { "content-type": contentType! }, trailers };
  } else if (connect?.stream) {
    const json = JSON.stringify(endStreamToJson(new Headers(), err, undefined));
    answer = { status: 200, headers: { "content-type": contentType! }, body: encodeEnvelope(endStreamFlag, new TextEncoder().encode(json)) };
  } else if (connect) {
    answer = { status: codeToHttpStatus(err.code), headers: { "content-type": "application/json" }, body: errorToJsonBytes(err, {}) };
  } else {
    return false;
  }
  // The body is read and dropped, never parsed (cheap; the cost was protobuf-es's decoding),
  // and read before the answer, as connect-node would: on HTTP/1.1 a connection closed under the
  // client's writes shows as EPIPE instead of this error, and on HTTP/2 a stream answered before
  // its body was sent left unsent bytes counting against Node's client session memory (~10 MB
  // of them wedged the connection for every call on it). A bidi stream's client may wait for an
  // answer before it sends on: it gets the answer at once, and the rest is read after it. Past
  // MAX_BODY_BYTES reading stops: the HTTP/1.1 connection or the HTTP/2 stream is closed.
  let whole = true;
  if (methodKind !== "bidi_streaming") whole = await discardBody(req);
  else void discardBody(req).then((ended) => ended || closeStreamAfter(req, res));
  if (!whole && req.httpVersionMajor === 2) closeStreamAfter(req, res);
  const headers = { ...answer.headers, ...(whole || req.httpVersionMajor !== 1 ? {} : { connection: "close" }) };
  if (answer.body) headers["content-length"] = String(answer.body.byteLength);
  res.writeHead(answer.status, headers);
  if (answer.trailers) res.addTrailers(answer.trailers);
  if (answer.body) res.end(answer.body);
  else res.end();
  return true;
}

/** Reads and drops a request body; true when it ended within MAX_BODY_BYTES (past it, reading stops). */
function discardBody(req: NodeRequest): Promise<boolean> {
  return new Promise((resolve) => {
    let bytes = 0;
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= MAX_BODY_BYTES) return;
      req.off("data", onData);
      req.pause();
      resolve(false);
    };
    req.on("data", onData);
    req.once("end", () => resolve(true));
    req.once("error", () => resolve(false));
    req.once("close", () => resolve(req.readableEnded));
  });
}

/** Closes an HTTP/2 request's stream (RST_STREAM NO_ERROR: "stop sending") once the answer is out. */
function closeStreamAfter(req: NodeRequest, res: NodeResponse): void {
  const close = () => (req as Http2ServerRequest).stream.close(http2.constants.NGHTTP2_NO_ERROR);
  if (res.writableFinished) close();
  else res.once("finish", close);
}
