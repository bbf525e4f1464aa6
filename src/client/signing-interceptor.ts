// For callers: a Connect client interceptor that signs each unary request with an HMAC signing
// key, for organizations in HMAC mode. Use it with the gRPC transport or Connect binary
// (useBinaryFormat: true): the signature covers the serialized request message. JSON callers
// sign the raw body bytes instead (see README).
import { toBinary } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { signedPayload, signPayload, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../domain/signature.js";

export interface SigningOptions {
  /** The whsec_... secret CreateSigningKey returned. */
  secret: string;
  /** Also send X-Setter-Timestamp and sign "<timestamp>.<message>" (replay protection). */
  withTimestamp?: boolean;
  /** Unix seconds; for tests. */
  now?: () => number;
}

export function createSigningInterceptor(options: SigningOptions): Interceptor {
  return (next) => async (req) => {
    if (!req.stream) {
      const bytes = toBinary(req.method.input, req.message);
      let timestamp: string | undefined;
      if (options.withTimestamp) {
        timestamp = String(options.now ? options.now() : Math.floor(Date.now() / 1000));
        req.header.set(TIMESTAMP_HEADER, timestamp);
      }
      req.header.set(SIGNATURE_HEADER, signPayload(options.secret, signedPayload(bytes, timestamp)));
    }
    return next(req);
  };
}
