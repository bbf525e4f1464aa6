import { describe, expect, it } from "vitest";
import { pipelined } from "../../src/service/pipelined.js";

const tick = () => new Promise((r) => setTimeout(r, 5));

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("pipelined", () => {
  it("yields work(item) for every item, in order, even when later work finishes first", async () => {
    async function* source() {
      yield* [30, 1, 10, 0];
    }
    const got = await collect(pipelined(source(), async (ms) => {
      await new Promise((r) => setTimeout(r, ms));
      return ms * 2;
    }));
    expect(got).toEqual([60, 2, 20, 0]);
  });

  it("produces the next item while work runs on the current one", async () => {
    const log: string[] = [];
    async function* source() {
      for (const x of ["a", "b", "c"]) {
        log.push(`read ${x}`);
        yield x;
      }
    }
    await collect(pipelined(source(), async (x) => {
      log.push(`work ${x} starts`);
      await tick();
      log.push(`work ${x} ends`);
      return x;
    }));
    expect(log.slice(0, 4)).toEqual(["read a", "work a starts", "read b", "work a ends"]);
  });

  it("yields a result without waiting for the next item (a client may send it only after reading the result)", async () => {
    let answered = 0;
    let wake = () => {};
    async function* source() {
      for (let i = 0; i < 3; i++) {
        while (answered < i) await new Promise<void>((r) => (wake = r));
        yield i;
      }
    }
    const got: number[] = [];
    for await (const x of pipelined(source(), async (i) => i)) {
      got.push(x);
      answered++;
      wake();
    }
    expect(got).toEqual([0, 1, 2]);
  });

  it("passes on a work failure, and a source failure after the results before it", async () => {
    async function* source() {
      yield 1;
      yield 2;
    }
    await expect(collect(pipelined(source(), async (x) => {
      if (x === 2) throw new Error("work failed");
      return x;
    }))).rejects.toThrow("work failed");

    async function* failing() {
      yield 1;
      throw new Error("source failed");
    }
    const got: number[] = [];
    await expect((async () => {
      for await (const x of pipelined(failing(), async (x) => x)) got.push(x);
    })()).rejects.toThrow("source failed");
    expect(got).toEqual([1]);
  });

  it("stops reading the source when the consumer stops", async () => {
    let read = 0;
    let closed = false;
    async function* source() {
      try {
        for (let i = 0; i < 100; i++) {
          read++;
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    for await (const x of pipelined(source(), async (i) => i)) if (x === 1) break;
    await tick();
    expect(read).toBeLessThanOrEqual(3);
    expect(closed).toBe(true);
  });
});
