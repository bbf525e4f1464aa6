// protobuf-es's string encoding as configured for the server: the same bytes as TextEncoder,
// a leading U+FEFF kept on decoding, invalid UTF-8 still refused.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { getTextEncoding } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { SendLeadEventsRequestSchema } from "../../gen/leadevents/v1/lead_event_service_pb.js";
import "../../src/rpc/protobuf-text.js";

const TEXTS = ["", "+14155550132", "webinar_attended", "é", "東京", "😀", "\u{feff}paid", "a\u{feff}b", "\u007f", "\u0000", "x".repeat(1000) + "é"];

describe("protobuf string encoding", () => {
  it("encodes exactly as TextEncoder does, ASCII or not", () => {
    const te = new TextEncoder();
    for (const text of TEXTS) expect(Buffer.from(getTextEncoding().encodeUtf8(text))).toEqual(Buffer.from(te.encode(text)));
  });

  it("round-trips messages, keeping a leading U+FEFF", () => {
    for (const text of TEXTS) {
      const msg = create(SendLeadEventsRequestSchema, { eventType: text, events: [{ phoneE164: text, occurredAt: text }] });
      const back = fromBinary(SendLeadEventsRequestSchema, toBinary(SendLeadEventsRequestSchema, msg));
      expect([back.eventType, back.events[0]!.phoneE164, back.events[0]!.occurredAt]).toEqual([text, text, text]);
    }
  });

  it("still refuses invalid UTF-8 in a string field", () => {
    const bad = new Uint8Array([0x12, 0x02, 0xc0, 0x80]); // eventType (field 2) = an overlong encoding
    expect(() => fromBinary(SendLeadEventsRequestSchema, bad)).toThrow();
  });
});
