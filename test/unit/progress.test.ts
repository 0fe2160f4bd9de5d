import { describe, expect, it } from "vitest";
import { NOMINAL_CHARS_PER_SECOND, progressOf } from "../../lib/jobs/progress.js";
import type { Job } from "../../lib/jobs/schema.js";
import { jobRecord } from "../helpers/job-record.js";

const T0 = "2026-11-30T00:00:00.000Z";
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000);

describe("job progress", () => {
  it("a job in one piece: nothing synthesized while submitted, with the nominal estimate; all of it once synthesized", () => {
    const submitted = jobRecord({ state: "submitted", characters: 5000 }, T0);
    const p = progressOf(submitted, [], at(10));
    expect(p.parts).toEqual({ done: 0, total: 1 });
    expect(p.characters).toEqual({ total: 5000, synthesized: 0, billed: 0 });
    expect(p.estimate?.basis).toBe("nominal");
    expect(p.estimate?.secondsLeft).toBe(Math.round(5000 / NOMINAL_CHARS_PER_SECOND - 10));
    // The bar moves within the one part: 10 s of the 60 s expected.
    expect(p.estimate?.fractionDone).toBe(Math.round((10 / (5000 / NOMINAL_CHARS_PER_SECOND)) * 100) / 100);
    expect(p.estimate?.fractionDone).toBeGreaterThan(0);
    expect(Date.parse(p.estimate!.finishesAt)).toBeGreaterThan(at(10).getTime());
    const stored = progressOf({ ...submitted, state: "stored" }, [], at(70));
    expect(stored.characters).toEqual({ total: 5000, synthesized: 5000, billed: 5000 });
    expect(stored.estimate?.secondsLeft).toBe(0);
    const done = progressOf({ ...submitted, state: "done" }, [], at(80));
    expect(done.parts).toEqual({ done: 1, total: 1 });
    expect(done.estimate).toBeUndefined();
  });

  it("a split job counts its parts, estimates from its own pace once one is done, and counts a part billed twice", () => {
    const parts = [
      { jobId: "p0", characters: 100_000 },
      { jobId: "p1", characters: 50_000, billedBefore: 50_000 },
    ];
    const parent = jobRecord({ state: "submitted", characters: 150_000, parts }, T0);
    const child = (state: Job["state"]): Job => jobRecord({ state }, T0);
    const early = progressOf(parent, [child("submitted"), child("queued")], at(60));
    expect(early.parts).toEqual({ done: 0, total: 2 });
    expect(early.estimate?.basis).toBe("nominal");
    const half = progressOf(parent, [child("done"), child("submitted")], at(600));
    expect(half.parts).toEqual({ done: 1, total: 2 });
    expect(half.characters).toEqual({ total: 150_000, synthesized: 100_000, billed: 150_000 });
    // 100,000 characters in 600 s: the other 50,000 take 300 s more at that pace.
    expect(half.estimate).toMatchObject({ basis: "observed", secondsLeft: 300, fractionDone: 0.67 });
    expect(half.estimate?.finishesAt).toBe(at(900).toISOString());
    const missing = progressOf(parent, [undefined, undefined], at(1));
    expect(missing.parts.done).toBe(0);
    const done = progressOf({ ...parent, state: "done" }, [undefined, undefined], at(1000));
    expect(done.parts).toEqual({ done: 2, total: 2 });
    expect(done.characters.synthesized).toBe(150_000);
  });
});
