// How protobuf-es turns strings into bytes and back, for every message this process decodes or
// encodes (connect-node's handlers, the clients, mapping.ts). Imported for its effect by app.ts,
// before any request is read.
// - Decoding keeps a leading U+FEFF (byte-order mark): protobuf-es's TextDecoder drops it, yet in a
//   protobuf string it is data, and JSON keeps it: "\uFEFFpaid" as an event type was refused over
//   JSON and stored as "paid" over gRPC-web (found by the breaker pass). send-proto-decoder.ts
//   decodes the same way.
// - ASCII text (phones, event types, timestamps: nearly every string we send) is encoded without
//   TextEncoder: a FilterAudience answer of 100,000 phones encodes ~30% faster (measured).
import { Buffer } from "node:buffer";
import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";

const defaults = getTextEncoding();
const lenient = new TextDecoder("utf-8", { ignoreBOM: true });
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

configureTextEncoding({
  encodeUtf8(text) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return defaults.encodeUtf8(text);
    return Buffer.from(text, "latin1"); // the same bytes as UTF-8 for ASCII
  },
  decodeUtf8: (bytes, checked) => (checked ? strict : lenient).decode(bytes),
  checkUtf8: defaults.checkUtf8,
});
