// The frame of every RPC: authenticate the caller, run, map failures to ConnectError.
import type { HandlerContext } from "@connectrpc/connect";
import { authenticateBearer, authenticateSignature, type Caller } from "../service/auth.js";
import type { ServiceContext } from "../service/context.js";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../domain/signature.js";
import { toConnectError } from "./errors.js";

/**
 * For an RPC that accepts HMAC signatures (SendLeadEvents): what was signed. Over gRPC and
 * Connect binary the signature covers the serialized request message (protobuf-es's
 * deterministic encoding, which src/client/signing-interceptor.ts produces for callers).
 */
export interface Signable {
  payload: () => Uint8Array;
  organizationId: () => number | undefined;
}

export async function withCaller<T>(svc: ServiceContext, ctx: HandlerContext, fn: (caller: Caller) => Promise<T>, signable?: Signable): Promise<T> {
  try {
    const signature = ctx.requestHeader.get(SIGNATURE_HEADER);
    const caller =
      signable && signature !== null
        ? await authenticateSignature(svc, {
            signature,
            timestamp: ctx.requestHeader.get(TIMESTAMP_HEADER) ?? undefined,
            payload: signable.payload(),
            organizationId: signable.organizationId(),
          })
        : await authenticateBearer(svc, ctx.requestHeader.get("authorization"));
    return await fn(caller);
  } catch (err) {
    throw toConnectError(err, svc.log);
  }
}
