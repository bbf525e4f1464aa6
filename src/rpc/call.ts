// The frame of every RPC: authenticate the caller, run, map failures to ConnectError.
import type { HandlerContext } from "@connectrpc/connect";
import { authenticateBearer, type Caller } from "../service/auth.js";
import type { ServiceContext } from "../service/context.js";
import { toConnectError } from "./errors.js";

export async function withCaller<T>(svc: ServiceContext, ctx: HandlerContext, fn: (caller: Caller) => Promise<T>): Promise<T> {
  try {
    const caller = await authenticateBearer(svc, ctx.requestHeader.get("authorization"));
    return await fn(caller);
  } catch (err) {
    throw toConnectError(err, svc.log);
  }
}
