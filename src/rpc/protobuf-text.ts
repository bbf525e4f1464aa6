// protobuf-es decodes strings with a TextDecoder that drops a leading U+FEFF (byte-order mark).
// In a protobuf string that character is data, and JSON keeps it: "\uFEFFpaid" as an event type
// was refused over JSON yet stored as "paid" over gRPC-web (found by the breaker pass). Every
// protobuf string this process decodes keeps what was sent; send-proto-decoder.ts decodes the
// same way. Imported for its effect by app.ts, before any request is read.
import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";

const defaults = getTextEncoding();
const lenient = new TextDecoder("utf-8", { ignoreBOM: true });
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

configureTextEncoding({
  encodeUtf8: (text) => defaults.encodeUtf8(text),
  decodeUtf8: (bytes, checked) => (checked ? strict : lenient).decode(bytes),
  checkUtf8: (text) => defaults.checkUtf8(text),
});
