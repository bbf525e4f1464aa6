// eventType: a free, case-sensitive name chosen by the organization ("webinar_attended").

/**
 * Length limit in Unicode code points, not UTF-16 units: that is what a person counts as
 * characters for almost all text (an emoji or a CJK extension character is one), and it is what
 * PostgreSQL counts in varchar(n) / char_length on a UTF-8 database.
 */
export const EVENT_TYPE_MAX_CHARACTERS = 128;

/**
 * C0 controls, DEL and C1 controls, and the invisible format characters (zero-width spaces and
 * joiners, bidi marks and embeddings, word joiner, BOM): invisible, they break logs, CSV exports
 * and UIs, and "paid\u200b" would look like "paid" while being another type.
 */
function isControl(c: number): boolean {
  return (
    c <= 0x1f || (c >= 0x7f && c <= 0x9f) || c === 0xad || c === 0x061c ||
    (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2060 && c <= 0x206f) || c === 0xfeff
  );
}

const EDGE_SPACE = /^\s|\s$/;

/**
 * Checks an eventType. Leading or trailing white space is an error, not trimmed: trimming silently
 * would make " paid" and "paid" the same type in one call and different types in another.
 */
export function checkEventType(raw: unknown): { ok: true; value: string } | { ok: false; detail: string } {
  if (typeof raw !== "string") return { ok: false, detail: "must be a string" };
  if (raw.length === 0) return { ok: false, detail: "empty" };
  let codePoints = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = raw.charCodeAt(i + 1); // NaN at the end of the string
      if (!(next >= 0xdc00 && next <= 0xdfff)) return { ok: false, detail: "not well-formed Unicode (lone surrogate)" };
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return { ok: false, detail: "not well-formed Unicode (lone surrogate)" };
    } else if (isControl(c)) {
      return { ok: false, detail: "contains a control or invisible formatting character" };
    }
    // Stop early: a huge value should not cost a scan of all of it.
    if (++codePoints > EVENT_TYPE_MAX_CHARACTERS) {
      return { ok: false, detail: `longer than ${EVENT_TYPE_MAX_CHARACTERS} characters` };
    }
  }
  if (EDGE_SPACE.test(raw)) return { ok: false, detail: "leading or trailing white space" };
  return { ok: true, value: raw };
}
