// Locates ../shared (the product's acceptance cases and fixtures). A user's clone has no such
// folder: the tests that need it then report themselves skipped.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const SHARED_DIR = path.resolve(process.env.LEADEVENTS_SHARED_DIR ?? path.join(PROJECT_ROOT, "..", "shared"));
export const HAS_SHARED = fs.existsSync(path.join(SHARED_DIR, "cases"));

export function sharedPath(...parts: string[]): string {
  return path.join(SHARED_DIR, ...parts);
}

export function readSharedJson<T = any>(...parts: string[]): T {
  return JSON.parse(fs.readFileSync(sharedPath(...parts), "utf8")) as T;
}
