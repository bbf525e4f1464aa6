// The two protobuf protocols the SendLeadEvents fast path (proto-send-route.ts) speaks: Connect
// unary binary and gRPC over HTTP/2. Framing, caps, compression and error envelopes come from
// connect-es's own protocol helpers with this server's adapter settings, so an answer is the one
// connect-node would give (status, headers, body, trailers).
import { Code, ConnectError } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import {
  compressedFlag,
  compressionNegotiate,
  encodeEnvelope,
  readAllBytes,
  transformDecompressEnvelope,
  transformSplitEnvelope,
  type Compression,
} from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorToJsonBytes, parseTimeout as parseConnectTimeout } from "@connectrpc/connect/protocol-connect";
import { parseTimeout as parseGrpcTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { OutgoingHttpHeaders } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import { MAX_BODY_BYTES, type NodeRequest } from "./body.js";
import type { NodeResponse } from "./json-send-route.js";

// connect-node's settings as app.ts configures its adapter: readMaxBytes is MAX_BODY_BYTES; the
// rest are connect-es's defaults (gzip and br accepted, answers under 1 KiB never compressed,
// no maximum timeout); jsonOptions would only matter for error details, which we never send.
const ACCEPT_COMPRESSION: Compression[] = [compressionGzip, compressionBrotli];
const COMPRESS_MIN_BYTES = 1024;
const MAX_TIMEOUT_MS = Number.MAX_SAFE_INTEGER;
const JSON_OPTIONS = { alwaysEmitImplicit: true };

export interface ProtoProtocol {
  /** What the headers alone refuse (an unsupported compression, a malformed timeout), as connect-node would. */
  readonly headerError: ConnectError | undefined;
  /** Refuses a declared body over the cap before anything is read. */
  checkDeclaredSize(): void;
  /** The request message's bytes (decompressed) and `parse` of them; framing errors throw ConnectError. */
  /**
   * Reads the request's message and parses it. `wholeParse` is the parse that decides a refusal
   * (gRPC: a second message), when `parse` may leave part of the message for later (lazy decoding).
   */
  readMessage<T>(parse: (message: Uint8Array) => T, wholeParse?: (message: Uint8Array) => unknown): Promise<{ message: Uint8Array; parsed: T }>;
  writeMessage(message: Uint8Array): Promise<void>;
  writeError(err: ConnectError): Promise<void>;
}

/**
 * The protocol of a POST to a unary method when this fast path can serve it: Connect binary
 * (HTTP/1.1 or HTTP/2) or gRPC binary over HTTP/2. Anything else (JSON, gRPC-web, gRPC over
 * HTTP/1.1, Connect streaming content types) stays with connect-node.
 */
export function protoProtocolOf(req: NodeRequest, res: NodeResponse): ProtoProtocol | undefined {
  const contentType = header(req, "content-type");
  if (contentType === undefined) return undefined;
  if (/^application\/proto$/i.test(contentType)) return connectUnary(req, res);
  if (req.httpVersionMajor === 2 && /^application\/grpc(?:\+proto)?$/i.test(contentType)) return grpc(req, res);
  return undefined;
}

function connectUnary(req: NodeRequest, res: NodeResponse): ProtoProtocol {
  const compression = compressionNegotiate(ACCEPT_COMPRESSION, header(req, "content-encoding") ?? null, header(req, "accept-encoding") ?? null, "Accept-Encoding");
  const timeout = parseConnectTimeout(header(req, "connect-timeout-ms") ?? null, MAX_TIMEOUT_MS);
  const lengthHint = header(req, "content-length");
  const write = async (status: number, headers: Headers, body: Uint8Array) => {
    if (compression.response && body.byteLength >= COMPRESS_MIN_BYTES) {
      body = await compression.response.compress(body);
      headers.set("content-encoding", compression.response.name);
    }
    headers.set("content-length", String(body.byteLength));
    writeHead(res, status, headers);
    res.end(body);
  };
  return {
    // A valid timeout changes nothing: connect-node only aborts a signal SendLeadEvents never reads.
    headerError: compression.error ?? timeout.error,
    checkDeclaredSize: () => {
      const declared = lengthHint === undefined ? NaN : parseInt(lengthHint, 10);
      if (Number.isSafeInteger(declared) && declared > MAX_BODY_BYTES) {
        throw new ConnectError(`message size ${declared} is larger than configured readMaxBytes ${MAX_BODY_BYTES}`, Code.ResourceExhausted);
      }
    },
    readMessage: async (parse) => {
      let message = await readAllBytes(req as AsyncIterable<Uint8Array>, MAX_BODY_BYTES, lengthHint ?? null);
      if (compression.request) message = await compression.request.decompress(message, MAX_BODY_BYTES);
      return { message, parsed: parse(message) };
    },
    writeMessage: (message) => write(200, new Headers({ "content-type": "application/proto" }), message),
    writeError: (err) => {
      const headers = new Headers({ "content-type": "application/json" });
      err.metadata.forEach((value, key) => headers.set(key, value));
      return write(codeToHttpStatus(err.code), headers, errorToJsonBytes(err, JSON_OPTIONS));
    },
  };
}

function grpc(req: NodeRequest, res: NodeResponse): ProtoProtocol {
  const compression = compressionNegotiate(ACCEPT_COMPRESSION, header(req, "grpc-encoding") ?? null, header(req, "grpc-accept-encoding") ?? null, "Grpc-Accept-Encoding");
  const timeout = parseGrpcTimeout(header(req, "grpc-timeout") ?? null, MAX_TIMEOUT_MS);
  const responseHeaders = () => {
    const h = new Headers({ "content-type": "application/grpc+proto" });
    if (compression.response) h.set("grpc-encoding", compression.response.name);
    return h;
  };
  const finish = (trailers: Headers, envelope?: Uint8Array) => {
    writeHead(res, 200, responseHeaders());
    if (envelope) (res as Http2ServerResponse).write(envelope);
    res.addTrailers(nodeHeaders(trailers));
    res.end();
  };
  return {
    headerError: compression.error ?? timeout.error,
    // Each message's length prefix is checked as soon as it arrives (transformSplitEnvelope).
    checkDeclaredSize: () => undefined,
    readMessage: async (parse, wholeParse = parse) => {
      const envelopes = transformDecompressEnvelope(compression.request, MAX_BODY_BYTES)(transformSplitEnvelope(MAX_BODY_BYTES)(req as AsyncIterable<Uint8Array>))[Symbol.asyncIterator]();
      try {
        // As connect-node's unary handler: the first message is parsed before the stream is
        // read on; a second one is refused.
        const first = await envelopes.next();
        if (first.done) throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
        const parsed = parse(first.value.data);
        const second = await envelopes.next();
        if (!second.done) {
          // Malformed bytes in the first message answer first, as when it alone is sent; the
          // second is refused unread (decoding it too would only cost an unauthenticated caller
          // nothing and us another whole message).
          if (wholeParse !== parse) wholeParse(first.value.data);
          throw new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
        }
        return { message: first.value.data, parsed };
      } finally {
        // Stops reading a body we gave up on, as connect-node's pipeline does.
        await envelopes.return?.();
      }
    },
    writeMessage: async (message) => {
      let data = message;
      let flags = 0;
      if (compression.response && data.byteLength >= COMPRESS_MIN_BYTES) {
        data = await compression.response.compress(data);
        flags = compressedFlag;
      }
      finish(new Headers({ "grpc-status": "0" }), encodeEnvelope(flags, data));
    },
    writeError: async (err) => finish(setTrailerStatus(new Headers({ "grpc-status": "0" }), err)),
  };
}

export function header(req: NodeRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

function nodeHeaders(headers: Headers): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  headers.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}

function writeHead(res: NodeResponse, status: number, headers: Headers): void {
  (res as { writeHead(status: number, headers: OutgoingHttpHeaders): unknown }).writeHead(status, nodeHeaders(headers));
}
