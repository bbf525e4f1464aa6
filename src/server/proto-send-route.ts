// SendLeadEvents over Connect binary and gRPC without protobuf-es: the request bytes go through
// send-proto-decoder.ts straight to SendInput (fromBinary of a 50,000-event batch with Value
// metadata cost ~1.2 s), a large one chunk by chunk as it is written, then the same
// sendLeadEvents() as every transport. Answers and errors
// are framed as connect-node frames them (proto-protocols.ts). Differences from connect-node:
// the bearer key is checked before the body is read, and undecodable bytes are INVALID_ARGUMENT
// (saying what is wrong and where) instead of INTERNAL "parse binary: ...".
import { toBinary } from "@bufbuild/protobuf";
import { SendLeadEventsResponseSchema } from "../../gen/leadevents/v1/lead_event_service_pb.js";
import { isDatabaseUnavailable } from "../db/errors.js";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../domain/signature.js";
import { authenticateBearer, authenticateSignature, parseOrganizationId, type Caller } from "../service/auth.js";
import type { ServiceContext } from "../service/context.js";
import { sendLeadEvents } from "../service/send-lead-events.js";
import { toConnectError } from "../rpc/errors.js";
import { sendResultToProto } from "../rpc/mapping.js";
import type { NodeRequest } from "./body.js";
import { header, type ProtoProtocol } from "./proto-protocols.js";
import { decodeSendRequest, openLazySendRequest, sendInputOf } from "./send-proto-decoder.js";

export async function handleProtoSend(svc: ServiceContext, req: NodeRequest, protocol: ProtoProtocol): Promise<void> {
  let answer: Uint8Array;
  try {
    if (protocol.headerError) throw protocol.headerError;
    protocol.checkDeclaredSize();
    // A signed request is authenticated by its message; otherwise the bearer key is checked
    // before the body is read.
    const signature = header(req, SIGNATURE_HEADER);
    const bearer = signature === undefined ? await authenticateBearer(svc, header(req, "authorization")) : undefined;
    // A large message is decoded lazily (openLazySendRequest), like a large JSON body.
    const { message, parsed } = await protocol.readMessage((bytes) => {
      const lazy = openLazySendRequest(bytes);
      return lazy === null ? { lazy: false, request: decodeSendRequest(bytes) } : { lazy: true, request: lazy };
    }, decodeSendRequest);
    // Malformed bytes answer before anything but the bearer key, as when the whole message is
    // decoded first: where the lazy reading has not seen all of it, the whole decoding has the
    // last word on any refusal, with its own error or the same refusal again. The signature
    // covers the message bytes as sent (inside the gRPC frame, after decompression), nothing else.
    let caller: Caller;
    try {
      caller = bearer ?? (await authenticateSignature(svc, { signature: signature!, timestamp: header(req, TIMESTAMP_HEADER), payload: message, organizationId: parseOrganizationId(parsed.request.organizationId) }));
    } catch (err) {
      if (parsed.lazy && !isDatabaseUnavailable(err)) decodeSendRequest(message);
      throw err;
    }
    let result;
    try {
      result = await sendLeadEvents(svc, caller, sendInputOf(parsed.request));
    } catch (err) {
      if (!parsed.lazy || isDatabaseUnavailable(err)) throw err;
      // Nothing of the failed attempt was stored; the whole decoding decides.
      result = await sendLeadEvents(svc, caller, sendInputOf(decodeSendRequest(message)));
    }
    answer = toBinary(SendLeadEventsResponseSchema, sendResultToProto(result));
  } catch (err) {
    await protocol.writeError(toConnectError(err, svc.log));
    return;
  }
  // Outside the try: a failed write (the caller went away) must not be answered a second time.
  await protocol.writeMessage(answer);
}
