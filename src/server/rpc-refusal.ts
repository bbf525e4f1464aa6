// Answers an RPC with an error in the caller's own protocol (Connect unary or streaming, gRPC,
// gRPC-web; JSON or protobuf) without reading its body. The answer has the shape connect-node
// gives the same error: status and JSON body for Connect unary, an end-of-stream message for
// Connect streams, trailers for gRPC, a trailer frame for gRPC-web.
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
import type { NodeRequest } from "./body.js";
import type { NodeResponse } from "./json-send-route.js";

/** Writes `err` in the request's protocol; false (nothing written) when the content type is none connect-node serves. */
export function writeRpcRefusal(req: NodeRequest, res: NodeResponse, err: ConnectError): boolean {
  const contentType = first(req.headers["content-type"]) ?? null;
  const grpcWeb = parseGrpcWebContentType(contentType);
  if (grpcWeb) {
    if (grpcWeb.text) return false; // connect-node does not speak grpc-web-text: let it refuse
    const trailers = setTrailerStatus(new Headers(), err);
    end(req, res, 200, { "content-type": contentType! }, encodeEnvelope(trailerFlag, trailerSerialize(trailers)));
    return true;
  }
  if (parseGrpcContentType(contentType)) {
    if (req.httpVersionMajor !== 2) return false; // gRPC needs HTTP/2 trailers; connect-node refuses it
    const trailers: OutgoingHttpHeaders = {};
    setTrailerStatus(new Headers(), err).forEach((value, key) => void (trailers[key] = value));
    res.writeHead(200, { "content-type": contentType! });
    res.addTrailers(trailers);
    res.end();
    return true;
  }
  const connect = parseConnectContentType(contentType);
  if (!connect) return false;
  if (connect.stream) {
    const json = JSON.stringify(endStreamToJson(new Headers(), err, undefined));
    end(req, res, 200, { "content-type": contentType! }, encodeEnvelope(endStreamFlag, new TextEncoder().encode(json)));
    return true;
  }
  end(req, res, codeToHttpStatus(err.code), { "content-type": "application/json" }, errorToJsonBytes(err, {}));
  return true;
}

function end(req: NodeRequest, res: NodeResponse, status: number, headers: OutgoingHttpHeaders, body: Uint8Array): void {
  // An HTTP/1.1 connection whose request body was not read cannot carry another request.
  const close = req.httpVersionMajor === 1 && !req.readableEnded ? { connection: "close" } : {};
  res.writeHead(status, { ...headers, ...close, "content-length": String(body.byteLength) });
  res.end(body);
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
