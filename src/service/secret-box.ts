// Signing secrets must be recoverable (to verify signatures) yet unreadable in a database dump:
// AES-256-GCM under a server key that never enters the database.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export interface SecretBox {
  seal(plaintext: string): string;
  open(sealed: string): string;
}

const VERSION = "v1";

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error("the server key must be 32 bytes");
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), data]).toString("base64")}`;
    },
    open(sealed) {
      const [version, body] = sealed.split(":", 2);
      if (version !== VERSION || !body) throw new Error("unknown secret format");
      const raw = Buffer.from(body, "base64");
      const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
    },
  };
}

/**
 * The server key: LEADEVENTS_SECRET_KEY (base64 of 32 bytes) when set; otherwise one generated
 * on first start and kept in the data folder (mode 0600).
 */
export function loadServerKey(configured: string | undefined, dataDir: string): Buffer {
  if (configured) {
    const key = Buffer.from(configured, "base64");
    if (key.length !== 32) throw new Error("LEADEVENTS_SECRET_KEY must be the base64 of 32 bytes (openssl rand -base64 32)");
    return key;
  }
  const file = path.join(dataDir, "server-secret-key");
  if (fs.existsSync(file)) return loadServerKey(fs.readFileSync(file, "utf8").trim(), dataDir);
  fs.mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  fs.writeFileSync(file, key.toString("base64") + "\n", { mode: 0o600, flag: "wx" });
  return key;
}
