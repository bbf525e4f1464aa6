import { describe, expect, it } from "vitest";
import { checkSignatureTimestamp, formatSigningSecret, matchSignature, parseSignatureHeader, signedPayload, signPayload } from "../../src/domain/signature.js";

describe("HMAC signatures", () => {
  it("matches GitHub's published test vector", () => {
    expect(signPayload("It's a Secret to Everybody", "Hello, World!")).toBe("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  });

  it("parses upper- and lower-case hex and ignores surrounding white space", () => {
    const lower = parseSignatureHeader("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
    const upper = parseSignatureHeader("  sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17\t");
    expect(lower).toHaveLength(32);
    expect(upper?.equals(lower!)).toBe(true);
  });

  it("refuses short, long, non-hex and unprefixed signatures without throwing", () => {
    for (const bad of ["", "sha256=", "sha256=abc", "sha256=" + "a".repeat(65), "sha256=" + "g".repeat(64), "a".repeat(64), "sha1=" + "a".repeat(40), undefined]) {
      expect(parseSignatureHeader(bad)).toBeUndefined();
    }
  });

  it("finds the matching secret among several active ones (rotation)", () => {
    const body = Buffer.from('{"a":1}\n');
    const sig = parseSignatureHeader(signPayload("B", body))!;
    expect(matchSignature(["A", "B", "C"], body, sig)).toBe(1);
    expect(matchSignature(["A", "C"], body, sig)).toBe(-1);
    expect(matchSignature(["B"], body.subarray(0, body.length - 1), sig)).toBe(-1);
  });

  it("signs '<timestamp>.<body>' when a timestamp is used", () => {
    const body = Buffer.from("{}");
    expect(Buffer.from(signedPayload(body, "1764527640")).toString()).toBe("1764527640.{}");
    expect(signedPayload(body, undefined)).toBe(body);
  });

  it("refuses a timestamp outside five minutes either way", () => {
    expect(checkSignatureTimestamp("1000", 1000 + 300)).toBeUndefined();
    expect(checkSignatureTimestamp("1000", 1000 - 300)).toBeUndefined();
    expect(checkSignatureTimestamp("1000", 1301)).toMatch(/5 minutes/);
    expect(checkSignatureTimestamp("1000", 699)).toMatch(/5 minutes/);
    expect(checkSignatureTimestamp(undefined, 1)).toMatch(/required/);
    expect(checkSignatureTimestamp("12.5", 1)).toMatch(/unix seconds/);
  });

  it("makes secrets of whsec_ and 32 random bytes", () => {
    expect(formatSigningSecret(new Uint8Array(32).fill(255))).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
  });
});
