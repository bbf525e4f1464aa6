// Test helper: an RFC 3339 string as epoch microseconds (throws on a bad literal in a test).
import { parseRfc3339 } from "../../src/domain/index.js";

export function at(raw: string): number {
  const r = parseRfc3339(raw);
  if (!r.ok) throw new Error(r.detail);
  return r.micros;
}
