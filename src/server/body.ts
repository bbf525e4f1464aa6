// Reads a request body under a byte cap, refusing early from Content-Length and while
// streaming, so an oversized body is never buffered whole.
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { isAscii } from "node:buffer";
import { gunzip } from "node:zlib";
import { promisify } from "node:util";
import { AppError } from "../domain/errors.js";

export type NodeRequest = IncomingMessage | Http2ServerRequest;

/** A request header's (first) value. */
export function firstHeader(req: NodeRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** 10 MiB, a little over the documented 10 MB. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

const gunzipAsync = promisify(gunzip);

export function bodyTooLarge(limit: number): AppError {
  return new AppError("resource_exhausted", "BODY_TOO_LARGE", `request body too large: the cap is 10 MB (${limit.toLocaleString("en-US")} bytes)`);
}

export async function readBody(req: NodeRequest, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw bodyTooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw bodyTooLarge(limit);
    chunks.push(chunk);
  }
  const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  const encoding = String(req.headers["content-encoding"] ?? "identity").trim().toLowerCase();
  if (encoding === "identity" || encoding === "") return raw;
  if (encoding === "gzip") {
    try {
      return await gunzipAsync(raw, { maxOutputLength: limit });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError) throw bodyTooLarge(limit);
      throw new AppError("invalid_argument", "BODY_ENCODING_INVALID", "the body is not valid gzip");
    }
  }
  throw new AppError("invalid_argument", "BODY_ENCODING_UNSUPPORTED", `unsupported Content-Encoding ${JSON.stringify(encoding)}; use gzip or none`);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The body as JSON; malformed UTF-8 or JSON is INVALID_ARGUMENT with where it failed. */
export function parseJsonBody(body: Buffer): unknown {
  return parseJsonText(decodeUtf8Body(body));
}

/** The body as text; malformed UTF-8 is INVALID_ARGUMENT. */
export function decodeUtf8Body(body: Buffer): string {
  // ASCII is UTF-8 as it is: checked and copied natively, without the decoder's validation.
  if (isAscii(body)) return body.toString("latin1");
  try {
    return utf8.decode(body);
  } catch {
    throw new AppError("invalid_argument", "BODY_NOT_UTF8", "the body is not valid UTF-8");
  }
}

/** JSON text -> value; malformed JSON is INVALID_ARGUMENT with where it failed. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AppError("invalid_argument", "BODY_MALFORMED_JSON", `the body is not valid JSON: ${(err as Error).message}`);
  }
}
