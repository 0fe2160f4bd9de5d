import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Lease } from "../../lib/budget/account-budget.js";
import { STREAM_LEASE_MS } from "../../lib/budget/interactive.js";
import type { NlsSynthesizer } from "../../lib/providers/nls/synthesizer.js";
import { LiveOptionsSchema } from "../../lib/speech/live/live-request.js";
import { openLive } from "../../lib/speech/live/open-live.js";

describe("a live stream's lease", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("is renewed every half term while the stream runs, and given back (not renewed) once it ends", async () => {
    const renewals: number[] = [];
    let given = 0;
    const lease: Lease = {
      api: "nls-ws",
      key: "k",
      give: async () => {
        given++;
      },
      renew: async (ttlMs) => {
        renewals.push(ttlMs);
      },
    };
    // An NLS client that is only asked to check the options: nothing is spoken in this test.
    const nls = { prepare: () => ({ sample_rate: 16000 }) } as unknown as NlsSynthesizer;
    const opened = await openLive(LiveOptionsSchema.parse({}), {
      nls,
      maxChars: { nls: 4096, cosyvoice: 200_000 },
      lease: async () => lease,
    });
    await vi.advanceTimersByTimeAsync(STREAM_LEASE_MS * 2);
    expect(renewals).toEqual([STREAM_LEASE_MS, STREAM_LEASE_MS, STREAM_LEASE_MS, STREAM_LEASE_MS]);
    await opened.release();
    await opened.release();
    await vi.advanceTimersByTimeAsync(STREAM_LEASE_MS * 2);
    expect(renewals).toHaveLength(4);
    expect(given).toBe(1);
  });
});
