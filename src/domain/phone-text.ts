// Character-level reading of a phone value: strips the spelling noise that spreadsheets, CRMs
// and copy-paste add, and refuses anything that is not just a phone number. It decides nothing
// about countries or lengths; phone.ts does that with libphonenumber.

/** What is left of a phone value once the spelling noise is removed. */
export interface PhoneDigits {
  /** The value said it is international: a leading "+" (also full-width) or "00". */
  international: boolean;
  /** ASCII digits only: no "+"/"00" prefix, no separators, no extension. */
  digits: string;
  /** No "+" and the first thing is a bracketed group, e.g. "(415) 555-0132": a national area code. */
  bracketedAreaCode: boolean;
}

// Longer than this is not a phone number, however it is formatted; also bounds the work per value.
const MAX_TEXT_LENGTH = 128;

// "tel:" URI scheme (RFC 3966), any case.
const TEL_PREFIX = /^tel:/i;

// A trailing extension: "ext", "ext.", "ext:", "x", "#" or RFC 3966 ";ext=" followed by digits.
// Only at the end, so a marker cannot hide letters elsewhere. More than 10 digits is not an
// extension but a second number, which we refuse rather than guess about.
const EXTENSION = /\s*(?:;\s*ext=|ext[.:]?|x|#)\s*\d{1,10}$/i;

/**
 * Maps one UTF-16 code unit to what it means in a phone number:
 * a digit or "+" (as itself), " " for any white space, "" for invisible marks,
 * or the unit unchanged when it means nothing special (the caller decides).
 */
function mapUnit(c: number): string | null {
  if (c >= 0x30 && c <= 0x39) return String.fromCharCode(c);
  if (c >= 0xff10 && c <= 0xff19) return String.fromCharCode(c - 0xff10 + 0x30); // full-width digits
  switch (c) {
    case 0x2b: // +
    case 0xff0b: // full-width plus: libphonenumber refuses it, so map it here
      return "+";
    case 0x20:
    case 0x09:
    case 0x00a0: // no-break space (Excel, Word)
    case 0x2007: // figure space
    case 0x202f: // narrow no-break space (French number formatting)
    case 0x3000: // ideographic space
      return " ";
    case 0x200b: // zero-width space
    case 0x200c: // zero-width non-joiner
    case 0x200d: // zero-width joiner
    case 0x2060: // word joiner
    case 0xfeff: // BOM / zero-width no-break space
    case 0x00ad: // soft hyphen (invisible unless a line breaks there)
    case 0x200e: // left-to-right mark
    case 0x200f: // right-to-left mark
    case 0x202a: // LRE
    case 0x202b: // RLE
    case 0x202c: // PDF
    case 0x202d: // LRO
    case 0x202e: // RLO
    case 0x2066: // LRI
    case 0x2067: // RLI
    case 0x2068: // FSI
    case 0x2069: // PDI
      return "";
    case 0xff08:
      return "(";
    case 0xff09:
      return ")";
    case 0xff0d:
      return "-";
    case 0xff0e:
      return ".";
    default:
      return null;
  }
}

/** Visual separators allowed between digits: space, dot, dashes, brackets, slash. */
function isSeparator(c: number): boolean {
  return (
    c === 0x20 ||
    c === 0x2e || // .
    c === 0x2d || // -
    c === 0x28 || // (
    c === 0x29 || // )
    c === 0x5b || // [
    c === 0x5d || // ]
    c === 0x2f || // /
    (c >= 0x2010 && c <= 0x2015) || // hyphen, non-breaking hyphen, figure/en/em dash, bar
    c === 0x2212 // minus sign
  );
}

/** Replaces look-alike characters with ASCII and drops invisible ones. */
function unifyCharacters(raw: string): string {
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    const mapped = mapUnit(c);
    out += mapped === null ? raw[i] : mapped;
  }
  return out;
}

/**
 * Reads the digits of a phone value, or null when the value is not purely a phone number
 * (letters, other symbols, a "+" after digits, nothing left). Never extracts a number from text.
 */
export function readPhoneDigits(raw: string): PhoneDigits | null {
  if (raw.length === 0 || raw.length > MAX_TEXT_LENGTH) return null;
  let text = unifyCharacters(raw).trim();
  if (TEL_PREFIX.test(text)) text = text.slice(4).trimStart();
  const ext = EXTENSION.exec(text);
  if (ext !== null) text = text.slice(0, ext.index);

  let digits = "";
  let plus = false;
  let bracketedAreaCode = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      digits += text[i];
    } else if (c === 0x2b) {
      // "+" only once and only before the first digit ("(+44) 20…" is fine, "1+415…" is not).
      if (plus || digits.length > 0) return null;
      plus = true;
    } else if (isSeparator(c)) {
      if ((c === 0x28 || c === 0x5b) && digits.length === 0 && !plus) bracketedAreaCode = true;
    } else {
      return null; // a letter or any other symbol: not a bare phone number
    }
  }
  if (digits.length === 0) return null;
  if (plus) return { international: true, digits, bracketedAreaCode: false };
  // "00" is the international call prefix in most of the world (ITU-T E.164 recommends it).
  if (digits.startsWith("00")) return { international: true, digits: digits.slice(2), bracketedAreaCode: false };
  return { international: false, digits, bracketedAreaCode };
}
