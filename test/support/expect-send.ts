import { expect } from "vitest";

/**
 * Compares a send response with an expected one from ../shared: every field exactly, except
 * that a reject's reason must start with the expected text and a code absent from the
 * expectation must still be a known reject code.
 */
export function expectSendResponse(actual: any, expected: any): void {
  const { rejects: actualRejects, ...actualRest } = actual;
  const { rejects: expectedRejects, ...expectedRest } = expected;
  expect(actualRest).toEqual(expectedRest);
  expect(actual.received).toBe(actual.inserted + actual.duplicates + actual.rejected);
  const simplified = (actualRejects as any[]).map((r, i) => {
    const want = expectedRejects[i];
    expect(r.code, `reject ${i} code`).toMatch(/^REJECT_CODE_[A-Z_]+$/);
    return {
      index: r.index,
      phoneE164: r.phoneE164,
      reason: want && typeof r.reason === "string" && r.reason.startsWith(want.reason) ? want.reason : r.reason,
      ...(want && "code" in want ? { code: r.code } : {}),
    };
  });
  expect(simplified).toEqual(expectedRejects);
}
