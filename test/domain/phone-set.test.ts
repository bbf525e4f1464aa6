import { describe, expect, it } from "vitest";
import { PhoneSet, phoneKey } from "../../src/domain/phone-set.js";

describe("phoneKey", () => {
  it("reads '+' and up to 15 digits, the first not 0, as an exact number", () => {
    expect(phoneKey("+14155550132")).toBe(14155550132);
    expect(phoneKey("+1")).toBe(1);
    expect(phoneKey("+999999999999999")).toBe(999_999_999_999_999);
  });

  it("has no key for anything else (those phones go to the fallback set)", () => {
    for (const s of ["", "+", "14155550132", "+0415", "+1415555013a", "+1 415", "+1234567890123456", "++1"]) expect(phoneKey(s), s).toBeUndefined();
  });
});

describe("PhoneSet", () => {
  it("adds each phone once and says whether it was new", () => {
    const set = new PhoneSet();
    expect(set.add("+14155550132")).toBe(true);
    expect(set.add("+14155550132")).toBe(false);
    expect(set.add("+4930123456")).toBe(true);
    expect(set.has("+4930123456")).toBe(true);
    expect(set.has("+4930123457")).toBe(false);
    expect(set.size).toBe(2);
  });

  it("tells apart phones whose digits are prefixes of each other, and odd strings", () => {
    const set = new PhoneSet();
    for (const p of ["+1", "+12", "+120", "+1201", "weird", "+0123"]) expect(set.add(p), p).toBe(true);
    for (const p of ["+1", "+12", "+120", "+1201", "weird", "+0123"]) expect(set.add(p), p).toBe(false);
    expect(set.size).toBe(6);
    expect(set.has("+1202")).toBe(false);
    expect(set.has("other")).toBe(false);
  });

  it("agrees with a Set<string> over 300,000 phones with repeats, growing its table as it goes", () => {
    const set = new PhoneSet();
    const reference = new Set<string>();
    let x = 12345;
    let disagreements = 0;
    for (let i = 0; i < 300_000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      // Numbers of 8 to 15 digits, with plenty of repeats (the range is small for the short ones).
      const digits = String(1 + (x % 9)) + String(x).padStart(10, "0").slice(0, 7 + (i % 8));
      const phone = `+${digits}`;
      if (set.add(phone) === reference.has(phone)) disagreements++;
      reference.add(phone);
    }
    expect(disagreements).toBe(0);
    expect(reference.size).toBeGreaterThan(100_000);
    expect(set.size).toBe(reference.size);
    for (const p of reference) if (!set.has(p)) throw new Error(`lost ${p}`);
    // 5/8 load at most: between 1.6 and 3.2 slots of 8 bytes a phone.
    expect(set.tableBytes / set.size).toBeLessThanOrEqual(26);
  });
});
