// SendLeadEvents over Connect binary and gRPC without protobuf-es: the request bytes go through
// send-proto-decoder.ts straight to SendInput (fromBinary of a 50,000-event batch with Value
// metadata cost ~1.2 s), a large one chunk by chunk as it is written, then the same
// sendLeadEvents() as every transport. Answers and errors
// are framed as connect-node frames them (proto-protocols.ts). Differences from connect-node:
// the bearer key is checked before the body is read, and undecodable bytes are INVALID_ARGUMENT
// (saying what is wrong and where) instead of INTERNAL "parse binary: ...".
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { SendLeadEventsRequestSchema, SendLeadEventsResponseSchema } from "../../gen/leadevents/v1/lead_event_service_pb.js";
import { isDatabaseUnavailable } from "../db/errors.js";
import { AppError } from "../domain/errors.js";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../domain/signature.js";
import { authenticateBearer, authenticateSignature, parseOrganizationId, type Caller, type SignedRequest } from "../service/auth.js";
import type { ServiceContext } from "../service/context.js";
import { sendLeadEvents } from "../service/send-lead-events.js";
import { toConnectError } from "../rpc/errors.js";
import { sendResultToProto } from "../rpc/mapping.js";
import type { NodeRequest } from "./body.js";
import { header, type ProtoProtocol } from "./proto-protocols.js";
import { decodeSendRequest, openLazySendRequest, sendInputOf, type DecodedSendRequest, type LazySendRequest } from "./send-proto-decoder.js";

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
    const { message, parsed } = await protocol.readMessage((bytes) => openLazySendRequest(bytes) ?? decodeSendRequest(bytes));
    const send = async (decoded: DecodedSendRequest | LazySendRequest) =>
      sendLeadEvents(svc, bearer ?? (await authenticateSignedMessage(svc, signature!, header(req, TIMESTAMP_HEADER), message, decoded.organizationId)), sendInputOf(decoded));
    let result;
    if (Array.isArray(parsed.events)) {
      result = await send(parsed);
    } else {
      try {
        result = await send(parsed);
      } catch (err) {
        if (isDatabaseUnavailable(err)) throw err;
        // Any refusal may come from what the lazy decoding has not read yet (malformed bytes
        // later in the message take precedence over everything but the bearer key, as with the
        // whole decoding). The whole decoding decides, with its own answer or error; nothing of
        // the failed attempt was stored.
        result = await send(decodeSendRequest(message));
      }
    }
    answer = toBinary(SendLeadEventsResponseSchema, sendResultToProto(result));
  } catch (err) {
    await protocol.writeError(toConnectError(err, svc.log));
    return;
  }
  // Outside the try: a failed write (the caller went away) must not be answered a second time.
  await protocol.writeMessage(answer);
}

/**
 * The signature covers the message bytes as sent (inside the gRPC frame, after decompression).
 * Before this route existed it was checked against protobuf-es's re-encoding of the decoded
 * message; a caller that signed that encoding while sending different bytes of the same
 * message still verifies, at the cost of a fromBinary only after a mismatch.
 */
async function authenticateSignedMessage(svc: ServiceContext, signature: string, timestamp: string | undefined, message: Uint8Array, organizationId: bigint): Promise<Caller> {
  const signed: SignedRequest = { signature, timestamp, payload: message, organizationId: parseOrganizationId(organizationId) };
  try {
    return await authenticateSignature(svc, signed);
  } catch (err) {
    if (!(err instanceof AppError) || err.reason !== "SIGNATURE_INVALID") throw err;
    const canonical = toBinary(SendLeadEventsRequestSchema, fromBinary(SendLeadEventsRequestSchema, message));
    if (Buffer.compare(canonical, message) === 0) throw err;
    return authenticateSignature(svc, { ...signed, payload: canonical });
  }
}
