import { describe, expect, it, vi } from "vitest";
import { nlsError } from "../../lib/providers/nls/errors.js";
import { withRetry } from "../../lib/retry.js";

const transient = () => nlsError({ code: 50000000 });

/** Runs fn failing `failures` times with a transient error and returns the delays chosen before each retry. */
async function delaysOf(
  failures: number,
  opts: { random?: () => number; baseMs?: number; capMs?: number; attempts?: number } = {},
): Promise<number[]> {
  const delays: number[] = [];
  await withRetry(
    async (attempt) => {
      if (attempt < failures) throw transient();
      return "ok";
    },
    { attempts: failures + 1, ...opts, sleep: async (ms) => void delays.push(ms) },
  );
  return delays;
}

describe("withRetry: exponential backoff with full jitter", () => {
  it("draws each delay uniformly below a ceiling that doubles per attempt (base 200 ms)", async () => {
    // random() at its top end shows the ceilings; at 0.5 the delays are half of them.
    expect(await delaysOf(4, { random: () => 0.999999 })).toEqual([200, 400, 800, 1600]);
    expect(await delaysOf(4, { random: () => 0.5 })).toEqual([100, 200, 400, 800]);
  });

  it("never exceeds the cap however many attempts there are", async () => {
    const delays = await delaysOf(12, { random: () => 0.999999, baseMs: 100, capMs: 3000 });
    expect(Math.max(...delays)).toBe(3000);
    expect(delays.slice(5)).toEqual(Array(7).fill(3000));
  });

  it("spreads the retries of many clients: 2,000 real draws at attempt 3 cover [0, 1600) evenly", async () => {
    const samples = (await Promise.all(Array.from({ length: 2000 }, () => delaysOf(4)))).map((d) => d[3]!);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...samples)).toBeLessThanOrEqual(1600);
    // Full jitter, not "ceiling plus a little noise": the mean is near half the ceiling and every quarter is used.
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    expect(mean).toBeGreaterThan(700);
    expect(mean).toBeLessThan(900);
    for (let q = 0; q < 4; q++)
      expect(samples.filter((s) => s >= q * 400 && s < (q + 1) * 400).length).toBeGreaterThan(350);
    expect(new Set(samples).size).toBeGreaterThan(500);
  });

  it("fails fast on a terminal error: one attempt, no sleep", async () => {
    const slept: number[] = [];
    let calls = 0;
    const error = await withRetry(
      async () => {
        calls++;
        throw nlsError({ code: 41020001 });
      },
      { sleep: async (ms) => void slept.push(ms) },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ providerCode: "41020001", retryable: false });
    expect([calls, slept]).toEqual([1, []]);
  });

  it("gives up after the last attempt with the last error", async () => {
    let calls = 0;
    const error = await withRetry(
      async () => {
        calls++;
        throw transient();
      },
      { attempts: 3, sleep: async () => {} },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ providerCode: "50000000" });
    expect(calls).toBe(3);
  });

  it("stops waiting at once when aborted during a backoff", async () => {
    vi.useFakeTimers();
    try {
      const controller = new AbortController();
      const run = withRetry(
        async () => {
          throw transient();
        },
        { attempts: 5, baseMs: 10_000, random: () => 1, signal: controller.signal },
      );
      const settled = run.catch((e: unknown) => e);
      // Into the first backoff (10 s), then the client leaves 20 ms later: the wait ends then, not 10 s on.
      await vi.advanceTimersByTimeAsync(20);
      controller.abort(new Error("client left"));
      expect(await settled).toMatchObject({ message: "client left" });
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
