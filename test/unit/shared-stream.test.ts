import { describe, expect, it } from "vitest";
import { SharedStream } from "../../lib/speech/shared-stream.js";

/** An upstream of `n` chunks of `size` bytes, counting how far it was read. */
function upstream(n: number, size: number) {
  const state = { pulled: 0, returned: false };
  async function* gen() {
    try {
      for (let i = 0; i < n; i++) {
        state.pulled++;
        yield new Uint8Array(size).fill(i % 256);
      }
    } finally {
      state.returned = true;
    }
  }
  return { iterator: gen(), state };
}

async function drain(reader: AsyncIterable<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const chunk of reader) bytes += chunk.length;
  return bytes;
}

describe("a shared upstream stream", () => {
  it("gives every reader from the first byte and the whole result to the cache while it is small", async () => {
    const { iterator } = upstream(10, 100);
    const shared = new SharedStream(iterator, undefined, 10_000);
    const a = shared.reader();
    const b = shared.reader();
    expect(await Promise.all([drain(a), drain(b)])).toEqual([1000, 1000]);
    expect((await shared.finished)?.length).toBe(10);
  });

  it("past maxKeep: stops being shared, caches nothing, and keeps only what a reader has yet to read", async () => {
    let unshared = 0;
    const { iterator } = upstream(1000, 1000);
    const shared = new SharedStream(iterator, undefined, 10_000, () => unshared++);
    const reader = shared.reader();
    let bytes = 0;
    let peak = 0;
    for await (const chunk of reader) {
      bytes += chunk.length;
      peak = Math.max(peak, shared.keptBytes);
    }
    expect(bytes).toBe(1_000_000);
    expect(unshared).toBe(1);
    expect(shared.joinable).toBe(false);
    expect(await shared.finished).toBeUndefined();
    expect(() => shared.reader()).toThrow(/no longer shared/);
    // 1 MB went through; what was held at any time was the kept 10 kB, then not more than one chunk.
    expect(peak).toBeLessThanOrEqual(11_000);
  });

  it("closes the upstream when every reader has left early", async () => {
    const { iterator, state } = upstream(100, 10);
    const shared = new SharedStream(iterator);
    const reader = shared.reader();
    await reader.next();
    await reader.return();
    expect(state.returned).toBe(true);
    expect(await shared.finished).toBeUndefined();
  });
});
