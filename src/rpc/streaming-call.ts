// withCaller for RPCs that answer with a stream: authenticate, then pass the responses through,
// mapping failures (before or between responses) to ConnectError.
import type { HandlerContext } from "@connectrpc/connect";
import { authenticateBearer, type Caller } from "../service/auth.js";
import type { ServiceContext } from "../service/context.js";
import { toConnectError } from "./errors.js";

export async function* withCallerStreaming<T>(svc: ServiceContext, ctx: HandlerContext, fn: (caller: Caller) => AsyncIterable<T>): AsyncGenerator<T> {
  try {
    const caller = await authenticateBearer(svc, ctx.requestHeader.get("authorization"));
    yield* fn(caller);
  } catch (err) {
    throw toConnectError(err, svc.log);
  }
}
