// Default phone regions: ISO 3166-1 alpha-2 codes that libphonenumber has metadata for.
import { isSupportedRegion } from "./phone.js";

export function checkRegion(raw: string): { ok: true; value: string } | { ok: false; detail: string } {
  const value = raw.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(value) || !isSupportedRegion(value)) {
    return { ok: false, detail: `${JSON.stringify(raw)} is not a supported ISO 3166-1 region code such as US or GB` };
  }
  return { ok: true, value };
}
