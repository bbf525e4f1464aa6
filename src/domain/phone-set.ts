// A set of normalized phones in 13 to 26 bytes a phone (16 MB for 1,000,000), for remembering every phone of a streamed
// audience (up to millions) where a Set<string> would cost ~60 bytes a phone plus the strings.
//
// An E.164 phone is "+" and at most 15 digits, the first not 0 (country codes never start with
// 0). Read as an integer, those digits are below 10^15 < 2^53: exact in a double, and distinct
// phones give distinct numbers. So the set is an open-addressing hash table of doubles in one
// Float64Array (0 marks an empty slot; no phone reads as 0). Anything else (never produced by
// the normalizer, handled for safety) goes to a plain Set<string>.

const INITIAL_CAPACITY = 1 << 16;
/** Grow at 5/8 full: linear probing stays short; 1.6 to 3.2 slots (8 bytes each) a phone. */
const MAX_LOAD = 0.625;
const TWO_POW_32 = 4294967296;

/** The phone's digits as a number, or undefined when it is not "+" and 1 to 15 digits, the first not 0. */
export function phoneKey(phone: string): number | undefined {
  const n = phone.length;
  if (n < 2 || n > 16 || phone.charCodeAt(0) !== 0x2b || phone.charCodeAt(1) === 0x30) return undefined;
  let key = 0;
  for (let i = 1; i < n; i++) {
    const d = phone.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return undefined;
    key = key * 10 + d;
  }
  return key;
}

/** A 32-bit mix of a key below 2^53 (murmur3's finalizer over both halves). */
function hash(key: number): number {
  const lo = key % TWO_POW_32 | 0;
  const hi = (key / TWO_POW_32) | 0;
  let h = lo ^ Math.imul(hi, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export class PhoneSet {
  private table = new Float64Array(INITIAL_CAPACITY);
  private keys = 0;
  private readonly others = new Set<string>();

  get size(): number {
    return this.keys + this.others.size;
  }

  /** Bytes held by the table (for logs and tests). */
  get tableBytes(): number {
    return this.table.byteLength;
  }

  /** Adds a phone; true when it was not in the set yet. */
  add(phone: string): boolean {
    const key = phoneKey(phone);
    if (key === undefined) {
      if (this.others.has(phone)) return false;
      this.others.add(phone);
      return true;
    }
    if (!insert(this.table, key)) return false;
    if (++this.keys > this.table.length * MAX_LOAD) this.grow();
    return true;
  }

  has(phone: string): boolean {
    const key = phoneKey(phone);
    if (key === undefined) return this.others.has(phone);
    const t = this.table;
    const mask = t.length - 1;
    for (let i = hash(key) & mask; ; i = (i + 1) & mask) {
      const v = t[i]!;
      if (v === key) return true;
      if (v === 0) return false;
    }
  }

  private grow(): void {
    const old = this.table;
    this.table = new Float64Array(old.length * 2);
    for (let i = 0; i < old.length; i++) if (old[i] !== 0) insert(this.table, old[i]!);
  }
}

/** Linear probing; false when the key is already there. The table always has an empty slot. */
function insert(t: Float64Array, key: number): boolean {
  const mask = t.length - 1;
  for (let i = hash(key) & mask; ; i = (i + 1) & mask) {
    const v = t[i]!;
    if (v === key) return false;
    if (v === 0) {
      t[i] = key;
      return true;
    }
  }
}
