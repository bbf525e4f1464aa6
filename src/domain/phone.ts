// Phone normalization to E.164 with libphonenumber-js, under an organization's PhoneRules.
//
// Metadata choice: "libphonenumber-js/max". The default "min" metadata has possible lengths but
// not the per-type number patterns, so its isValid() is only an approximation; strict mode must
// mean real validity. isPossible() gives the same answers with either set, so one set serves both
// modes (its JSON is about 0.2 MB, loaded once per process).
//
// How a value without "+" or "00" is read (bare digits such as "4155550132", "14155550132"):
// - No default region: as international, "+" prepended ("14155550132" = "+14155550132", as the
//   spec says). A value that starts with a bracketed group, "(415) 555-0132", is national format
//   by its look and is refused: read as international it would land in some other country.
// - Default region set: first as a number of that region (which is what a default region means,
//   and what libphonenumber does: it also strips the region's own country code written without
//   "+", so "14155550132" and "4155550132" both give +14155550132 for US); only when that reading
//   is not acceptable, as international ("447700900123" in a US organization gives +447700900123).
//   International-first would be wrong here: "3605550140" (Washington state) is also a
//   possible-length Hungarian number, +36 05550140.

import {
  parsePhoneNumberFromString,
  isSupportedCountry,
  getCountryCallingCode,
  type CountryCode,
  type PhoneNumber,
} from "libphonenumber-js/max";
import { readPhoneDigits } from "./phone-text.js";
import type { PhoneRules } from "./types.js";

/** One normalizer serves one request; cap its memory if a caller sends millions of distinct values. */
const CACHE_LIMIT = 200_000;

// Already canonical: skip the character clean-up, still apply the possible/valid rule.
const CANONICAL = /^\+[1-9][0-9]{1,16}$/;

// Fast path for the North American plan, most of our traffic (libphonenumber costs ~8 µs a number,
// 0.4 s for a 50,000-row call). Every +1 region's possible length is 10 digits, and an area code
// starting 2-9 is all isPlausible asks, so these are exactly the numbers libphonenumber calls
// possible, with the same E.164 result; test/domain/phone.test.ts re-checks that against the
// library. Not for strict mode: validity needs the per-region patterns.
const NANP_INTERNATIONAL = /^1[2-9][0-9]{9}$/; // digits after "+"
const NANP_E164 = /^\+1[2-9][0-9]{9}$/;
const NANP_NATIONAL = /^1?([2-9][0-9]{9})$/; // in a +1 region, with or without the leading 1

/** True when libphonenumber knows the ISO 3166-1 alpha-2 region (e.g. "US", "GB"). */
export function isSupportedRegion(region: string): boolean {
  return isSupportedCountry(region.toUpperCase());
}

interface ResolvedRules {
  region: CountryCode | undefined;
  strict: boolean;
  /** The NANP fast path applies: not strict, and for national numbers a +1 region. */
  nanpInternational: boolean;
  nanpNational: boolean;
}

// An unknown region cannot be used for parsing; it is treated as "no default region". Settings
// should refuse such a region up front (isSupportedRegion).
function resolveRules(rules: PhoneRules): ResolvedRules {
  const upper = rules.defaultRegion?.toUpperCase();
  const region = upper !== undefined && isSupportedCountry(upper) ? upper : undefined;
  const nanpInternational = !rules.strict;
  const nanpNational = nanpInternational && region !== undefined && getCountryCallingCode(region) === "1";
  return { region, strict: rules.strict, nanpInternational, nanpNational };
}

/**
 * Checks that libphonenumber deems "possible" cannot catch: placeholders. A national number of only
 * zeros ("000-000-0000") is never a number, and in the North American plan (+1, NXX-NXX-XXXX) an
 * area code never starts with 0 or 1. Fictional +1 555 numbers still pass.
 */
function isPlausible(pn: PhoneNumber): boolean {
  const nn = pn.nationalNumber;
  if (/^0+$/.test(nn)) return false;
  if (pn.countryCallingCode === "1" && (nn.charCodeAt(0) === 0x30 || nn.charCodeAt(0) === 0x31)) return false;
  return true;
}

function accept(pn: PhoneNumber | undefined, strict: boolean): string | null {
  if (pn === undefined) return null;
  if (strict ? !pn.isValid() : !(pn.isPossible() && isPlausible(pn))) return null;
  return pn.number;
}

function asInternational(digits: string, rules: ResolvedRules): string | null {
  if (rules.nanpInternational && NANP_INTERNATIONAL.test(digits)) return "+" + digits;
  return accept(parsePhoneNumberFromString("+" + digits), rules.strict);
}

function asNational(digits: string, region: CountryCode, rules: ResolvedRules): string | null {
  if (rules.nanpNational) {
    const m = NANP_NATIONAL.exec(digits);
    if (m !== null) return "+1" + m[1];
  }
  return accept(parsePhoneNumberFromString(digits, { defaultCountry: region, extract: false }), rules.strict);
}

function normalizeResolved(raw: unknown, rules: ResolvedRules): string | null {
  if (typeof raw !== "string") return null;
  if (CANONICAL.test(raw)) return asInternational(raw.slice(1), rules);
  const read = readPhoneDigits(raw);
  if (read === null) return null;
  if (read.international) return asInternational(read.digits, rules);
  if (rules.region !== undefined) {
    const national = asNational(read.digits, rules.region, rules);
    if (national !== null) return national;
  }
  if (read.bracketedAreaCode) return null;
  return asInternational(read.digits, rules);
}

/** Normalizes a phone value to E.164 ("+14155550132"), or null when it is not an acceptable number. */
export function normalizePhone(raw: unknown, rules: PhoneRules): string | null {
  return normalizeResolved(raw, resolveRules(rules));
}

/**
 * A normalizer for one request: the same answers as normalizePhone, with the rules resolved once
 * and a cache per distinct string (batches repeat phones: rejoined sessions, several events each).
 */
export function createPhoneNormalizer(rules: PhoneRules): (raw: unknown) => string | null {
  const resolved = resolveRules(rules);
  const cache = new Map<string, string | null>();
  return (raw: unknown): string | null => {
    if (typeof raw !== "string") return null;
    // A North American number already in E.164, most of most batches: it is its own answer (what
    // asInternational's fast path gives), with no cache entry or new string.
    if (resolved.nanpInternational && NANP_E164.test(raw)) return raw;
    const hit = cache.get(raw);
    if (hit !== undefined) return hit;
    const result = normalizeResolved(raw, resolved);
    if (cache.size < CACHE_LIMIT) cache.set(raw, result);
    return result;
  };
}
