// Event metadata: an optional JSON object, at most 8 KB compact. Stored as PostgreSQL json (the
// compact text as validated here), but held to what jsonb can hold, as the SPEC says: any stored
// value casts to jsonb.
//
// Check order, first failure wins: a JSON object at all, then only JSON values in it (and no key
// "__proto__"), then content jsonb can hold (all "invalid metadata": such a value can never be stored, whatever its size),
// then the size ("metadata too large").

import { Buffer } from "node:buffer";
import { compactObjectEnd } from "./compact-json.js";
import type { Validated } from "./types.js";

/** Limit on the compact JSON text (JSON.stringify, no spaces), in UTF-8 bytes. */
export const METADATA_MAX_BYTES = 8192;

// Deeper than this is refused: no real metadata nests so far, it bounds our recursion, and a
// google.protobuf.Value nests two messages per JSON level against protobuf's limit of 100, so
// deeper rows would be stored yet unreadable over gRPC and Connect.
export const METADATA_MAX_DEPTH = 32;
const MAX_DEPTH = METADATA_MAX_DEPTH;

/**
 * A key "__proto__" is valid JSON, but the objects protobuf-es builds for google.protobuf.Struct
 * (QueryLeadEvents over Connect and gRPC) and most JavaScript code would take it as the object's
 * prototype and lose it: stored, it could never be read back as sent. Refused instead.
 */
const PROTO_KEY_DETAIL = 'contains the key "__proto__", which protobuf and JavaScript clients cannot read back';

/**
 * Finds what JSON cannot carry, instead of letting JSON.stringify silently change it (NaN and
 * Infinity would become null, undefined members would vanish). Values parsed from JSON text never
 * have these; a google.protobuf.Value from a binary gRPC call can hold NaN or Infinity. A walk plus
 * a plain JSON.stringify is about twice as fast as a stringify replacer.
 */
function nonJsonProblem(value: unknown, depth: number): string | null {
  switch (typeof value) {
    case "string":
    case "boolean":
      return null;
    case "number":
      return Number.isFinite(value) ? null : "contains a number that is not finite";
    case "object": {
      if (value === null) return null;
      if (depth >= MAX_DEPTH) return `nested deeper than ${MAX_DEPTH} levels`;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const p = nonJsonProblem(value[i], depth + 1);
          if (p !== null) return p;
        }
        return null;
      }
      const record = value as Record<string, unknown>;
      for (const key in record) {
        if (key === "__proto__") return PROTO_KEY_DETAIL;
        const p = nonJsonProblem(record[key], depth + 1);
        if (p !== null) return p;
      }
      return null;
    }
    default: // undefined, function, symbol, bigint
      return `contains a ${typeof value}, which JSON cannot carry`;
  }
}

/**
 * Finds content PostgreSQL jsonb refuses, on the compact text: JSON.stringify writes U+0000 as
 * \u0000 and a lone surrogate as \udXXX (a paired one stays raw), so one pass over the escapes
 * sees every string, keys included, at any depth.
 */
function jsonbProblem(text: string): string | null {
  let i = text.indexOf("\\");
  while (i !== -1) {
    if (text.charCodeAt(i + 1) === 0x75 /* u */) {
      const code = parseInt(text.slice(i + 2, i + 6), 16);
      if (code === 0) return "contains U+0000, which PostgreSQL jsonb cannot store";
      if (code >= 0xd800 && code <= 0xdfff) return "contains a lone surrogate (not well-formed Unicode)";
      i = text.indexOf("\\", i + 6);
    } else {
      i = text.indexOf("\\", i + 2); // a two-character escape such as \" or \\
    }
  }
  return null;
}

function invalid(detail: string): Validated<string | null> {
  return { ok: false, code: "invalid_metadata", reason: `invalid metadata: ${detail}` };
}

/**
 * Stands for metadata a transport could not turn into JSON (a binary google.protobuf.Value with
 * no kind set, or nested past protobuf's limit): it rejects its row, not the call.
 */
export class UnrepresentableMetadata {
  constructor(readonly detail: string) {}
}

/** The detail of metadata holding a google.protobuf.Value with none of its kinds set. */
export const EMPTY_VALUE_DETAIL = "contains a google.protobuf.Value with no kind set, which JSON cannot carry";

/**
 * Metadata a transport read as text that is already the compact JSON of an object, as
 * JSON.stringify would write it (no whitespace, no escapes, numbers as JavaScript prints them, no
 * repeated key, nesting under METADATA_MAX_DEPTH): every rule but the size holds by construction,
 * and the text is stored as it is. See compact-json.ts.
 */
export class CompactMetadataText {
  constructor(readonly text: string) {}
}

/**
 * Metadata a transport read far enough to know it is an object that holds to every rule but the
 * size (as CompactMetadataText), and that its compact JSON text has `bytes` UTF-8 bytes, more than
 * METADATA_MAX_BYTES: the text itself was never made.
 */
export class OversizedMetadata {
  constructor(readonly bytes: number) {}
}

/** Validates metadata given as a parsed JSON value; returns its compact JSON text, or null when absent. */
export function checkMetadata(raw: unknown): Validated<string | null> {
  if (raw === undefined || raw === null) return { ok: true, value: null };
  if (raw instanceof CompactMetadataText) return checkSize(raw.text);
  if (raw instanceof OversizedMetadata) return tooLarge(raw.bytes);
  if (raw instanceof UnrepresentableMetadata) return invalid(raw.detail);
  if (typeof raw !== "object" || Array.isArray(raw)) return invalid("must be a JSON object");
  const notJson = nonJsonProblem(raw, 0);
  if (notJson !== null) return invalid(notJson);
  let text: string;
  try {
    text = JSON.stringify(raw);
  } catch {
    return invalid("not representable as JSON"); // e.g. a throwing toJSON; cycles stop at MAX_DEPTH
  }
  const problem = jsonbProblem(text);
  if (problem !== null) return invalid(problem);
  return checkSize(text);
}

function checkSize(text: string): Validated<string | null> {
  // UTF-8 takes at most 3 bytes per UTF-16 code unit: most texts are too short to need counting.
  const bytes = text.length * 3 <= METADATA_MAX_BYTES ? 0 : Buffer.byteLength(text, "utf8");
  return bytes > METADATA_MAX_BYTES ? tooLarge(bytes) : { ok: true, value: text };
}

function tooLarge(bytes: number): Validated<string | null> {
  return { ok: false, code: "metadata_too_large", reason: `metadata too large: ${bytes} bytes, limit ${METADATA_MAX_BYTES}` };
}

/** Same rules for metadata that arrives as JSON text; "" means absent (proto3's unset string). */
export function checkMetadataJson(text: string): Validated<string | null> {
  if (text === "") return { ok: true, value: null };
  // Text already in compact form (what a caller's JSON.stringify writes) is kept as it is.
  if (compactObjectEnd(text, 0, MAX_DEPTH - 1) === text.length) return checkSize(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return invalid("not valid JSON");
  }
  return checkMetadata(parsed);
}
