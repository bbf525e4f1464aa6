import { describe, it, expect } from "vitest";
import { parsePhoneNumberFromString } from "libphonenumber-js/max";
import { normalizePhone, createPhoneNormalizer, isSupportedRegion } from "../../src/domain/index.js";
import { firstRequest, readCase, itWithShared } from "./shared-cases.js";

const NO_REGION = { strict: false };
const US = { defaultRegion: "US", strict: false };
const GB = { defaultRegion: "GB", strict: false };

describe("phone normalization", () => {
  itWithShared("normalizes every spelling in phone-formats.json to +14155550132, with and without a region", () => {
    const events = firstRequest(readCase("phone-formats")).events;
    expect(events).toHaveLength(13);
    for (const ev of events) {
      expect(normalizePhone(ev.phoneE164, NO_REGION), JSON.stringify(ev.phoneE164)).toBe("+14155550132");
      expect(normalizePhone(ev.phoneE164, US), JSON.stringify(ev.phoneE164)).toBe("+14155550132");
    }
  });

  itWithShared("parses national numbers with default region GB and keeps international ones (default-region.json)", () => {
    const c = readCase("default-region");
    const got = firstRequest(c).events.map((ev) => normalizePhone(ev.phoneE164, { defaultRegion: c.org.defaultRegion, strict: false }));
    expect(got).toEqual(["+447700900123", "+442079460958", "+14155550132", "+447700900123"]);
    expect(new Set(got)).toEqual(new Set(c.stored!.map((s) => s.phoneE164)));
  });

  it("refuses national format without a default region", () => {
    for (const raw of ["(415) 555-0132", "07400 123456", "07700 900123", "020 7946 0958", "(360) 555-0140"]) {
      expect(normalizePhone(raw, NO_REGION), raw).toBeNull();
    }
  });

  it("reads bare digits without a region as international", () => {
    expect(normalizePhone("14155550132", NO_REGION)).toBe("+14155550132");
    expect(normalizePhone("15551234567", NO_REGION)).toBe("+15551234567");
    expect(normalizePhone("447700900123", NO_REGION)).toBe("+447700900123");
  });

  it("reads bare digits as national first when a region is set, then as international", () => {
    expect(normalizePhone("4155550132", US)).toBe("+14155550132");
    expect(normalizePhone("14155550132", US)).toBe("+14155550132");
    expect(normalizePhone("1 432 555 0166", US)).toBe("+14325550166");
    // Also a possible Hungarian number (+36 05550140): national-first keeps it in the US.
    expect(normalizePhone("3605550140", US)).toBe("+13605550140");
    expect(normalizePhone("447700900123", US)).toBe("+447700900123");
    expect(normalizePhone("0044 7700 900123", US)).toBe("+447700900123");
    expect(normalizePhone("14155550132", GB)).toBe("+14155550132");
    expect(normalizePhone("07700 900123", US)).toBeNull();
  });

  it("accepts fictional +1 555 numbers as possible, and refuses them in strict mode", () => {
    expect(normalizePhone("+15551234567", NO_REGION)).toBe("+15551234567");
    expect(normalizePhone("15551234567", NO_REGION)).toBe("+15551234567");
    expect(normalizePhone("+15551234567", { strict: true })).toBeNull();
    expect(normalizePhone("+1 415 555 0132", { strict: true })).toBe("+14155550132");
    expect(normalizePhone("020 7946 0958", { defaultRegion: "GB", strict: true })).toBe("+442079460958");
  });

  it("never extracts a number from surrounding text", () => {
    for (const raw of ["+12015550123abc", "call +1 201 555 0123", "+1 800 FLOWERS", "phone: +14155550132", "+14155550132 (mobile)", "+1 415 555 0132 ext", "+1 415 555 0132 #"]) {
      expect(normalizePhone(raw, US), raw).toBeNull();
    }
  });

  it("refuses letters-only, empty, too short, too long and unknown country codes", () => {
    for (const raw of ["N/A", "none", "call me", "hello", "", "   ", "+", "+1 555", "555-01", "12345", "+1 (415) 555-01", "+999 1234567", "+1234567890123456789", "+", "0", "00"]) {
      expect(normalizePhone(raw, US), JSON.stringify(raw)).toBeNull();
    }
  });

  it("refuses placeholder numbers such as 000-000-0000", () => {
    expect(normalizePhone("000-000-0000", US)).toBeNull();
    expect(normalizePhone("+1 000 000 0000", NO_REGION)).toBeNull();
    expect(normalizePhone("+1 123 456 7890", NO_REGION)).toBeNull(); // NANP area codes never start with 0 or 1
  });

  it("refuses values that are not strings", () => {
    for (const raw of [undefined, null, 14155550132, true, {}, ["+14155550132"]]) {
      expect(normalizePhone(raw, US)).toBeNull();
    }
  });

  it("tolerates invisible marks, no-break spaces, zero-width characters and full-width forms", () => {
    const spellings = [
      "\u2066+1 415 555 0132\u2069",
      "+1\u202f415\u202f555\u202f0132",
      "+1\u2007415\u2007555\u20070132",
      "+1\u00a0415\u00a0555\u00a00132",
      "\ufeff+1415\u200b555\u200c0132\u200d",
      "+1\u2060415\u2011555\u20130132",
      "\uff0b\uff11\uff08\uff14\uff11\uff15\uff09\uff15\uff15\uff15\uff0d\uff10\uff11\uff13\uff12",
      "TEL:+1-415-555-0132",
      "tel: +1 415 555 0132;ext=99",
      "(+1) 415 555 0132",
      "+1 [415] 555.0132",
    ];
    for (const raw of spellings) expect(normalizePhone(raw, NO_REGION), JSON.stringify(raw)).toBe("+14155550132");
  });

  it("drops an extension written as ext, ext., x or #", () => {
    for (const raw of ["+1 415 555 0132 ext 12", "+1 415 555 0132 EXT. 12", "+1 415 555 0132 x12", "+1 415 555 0132 # 12", "+14155550132x7"]) {
      expect(normalizePhone(raw, NO_REGION), raw).toBe("+14155550132");
    }
  });

  it("refuses a plus sign anywhere but at the start", () => {
    expect(normalizePhone("1+4155550132", NO_REGION)).toBeNull();
    expect(normalizePhone("++14155550132", NO_REGION)).toBeNull();
  });

  it("treats an unknown default region as no region, and says which regions are supported", () => {
    expect(isSupportedRegion("US")).toBe(true);
    expect(isSupportedRegion("gb")).toBe(true);
    expect(isSupportedRegion("XX")).toBe(false);
    expect(normalizePhone("(415) 555-0132", { defaultRegion: "XX", strict: false })).toBeNull();
    expect(normalizePhone("(415) 555-0132", { defaultRegion: "us", strict: false })).toBe("+14155550132");
  });

  it("gives the same answers through a per-request normalizer (with its cache)", () => {
    const inputs = ["+14155550132", "(415) 555-0132", "07700 900123", "N/A", "+447700900123", "3605550140", "000-000-0000", ""];
    for (const rules of [NO_REGION, US, GB, { strict: true, defaultRegion: "US" }]) {
      const normalize = createPhoneNormalizer(rules);
      for (const raw of [...inputs, ...inputs]) expect(normalize(raw), `${raw} ${JSON.stringify(rules)}`).toBe(normalizePhone(raw, rules));
    }
  });

  it("takes the North American fast path only where libphonenumber gives the same answer", () => {
    // The fast path skips libphonenumber for +1 NXX numbers; compare against the library on a sample.
    const normalizeIntl = createPhoneNormalizer(NO_REGION);
    const normalizeUs = createPhoneNormalizer(US);
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 3000; i++) {
      const national = String(Math.floor(rand() * 1e10)).padStart(10, "0");
      const lib = parsePhoneNumberFromString("+1" + national);
      const libAnswer = lib !== undefined && lib.isPossible() && /^[2-9]/.test(lib.nationalNumber) ? lib.number : null;
      expect(normalizeIntl("+1" + national), national).toBe(libAnswer);
      const libNational = parsePhoneNumberFromString(national, { defaultCountry: "US", extract: false });
      if (/^[2-9]/.test(national)) {
        expect(normalizeUs(national), national).toBe(libNational!.number);
      }
    }
  });
});
