import { describe, expect, it } from "vitest";
import { reconcileAction } from "../../lib/jobs/reconcile-policy.js";
import type { Job } from "../../lib/jobs/schema.js";
import { jobRecord } from "../helpers/job-record.js";

const T0 = Date.parse("2026-11-30T00:00:00Z");
const MIN = 60_000;
const HOUR = 60 * MIN;
const STALE = 2 * MIN;

/** NLS's limits, as its port states them (seed 003: results within 3 hours, audio kept 7 days). */
const NLS = {
  deadline: { ms: 3 * HOUR, says: "the 3 hours NLS promises for a long-text task" },
  retention: { ms: 7 * 24 * HOUR, says: "the 7 days NLS keeps a task's audio" },
};

const job = (fields: Partial<Job>): Job => jobRecord(fields, new Date(T0).toISOString());
const task = (submittedMinutesAgo: number, now: number, finishedMinutesAgo?: number): Job["task"] => ({
  id: "t",
  submittedAt: new Date(now - submittedMinutesAgo * MIN).toISOString(),
  ...(finishedMinutesAgo !== undefined ? { finishedAt: new Date(now - finishedMinutesAgo * MIN).toISOString() } : {}),
});

describe("what reconcile does with one job", () => {
  const now = T0 + 10 * HOUR;
  const updated = (minutesAgo: number) => new Date(now - minutesAgo * MIN).toISOString();
  const cases: Array<[string, Job, ReturnType<typeof reconcileAction>["kind"], Record<string, unknown>?]> = [
    ["a fresh queued job waits", job({ updatedAt: updated(1), createdAt: updated(1) }), "wait"],
    ["a stale queued job is resubmitted", job({ updatedAt: updated(5), createdAt: updated(5) }), "resubmit"],
    [
      "a stale queued part is ended only if its parent has (its parent submits it when a slot frees)",
      job({ updatedAt: updated(5), createdAt: updated(5), parent: { id: "p", index: 1 } }),
      "end-if-orphaned",
    ],
    [
      "a part queued for 4 hours is not timed out (its 3 hours start with its task)",
      job({ updatedAt: updated(240), createdAt: updated(240), parent: { id: "p", index: 1 } }),
      "end-if-orphaned",
    ],
    [
      "a batch item queued for 4 hours is resubmitted, not timed out",
      job({ updatedAt: updated(240), createdAt: updated(240), batch: { id: "b", item: "i" } }),
      "resubmit",
    ],
    [
      "a stale submitted job is polled (a lost callback)",
      job({ state: "submitted", updatedAt: updated(5), task: task(5, now) }),
      "poll",
    ],
    ["a fresh submitted job waits", job({ state: "submitted", updatedAt: updated(1), task: task(1, now) }), "wait"],
    [
      "a task past 3 hours fails with Timeout",
      job({ state: "submitted", updatedAt: updated(5), task: task(181, now) }),
      "fail",
      { code: "Timeout" },
    ],
    [
      "a stale synthesized job is handed to store again",
      job({ state: "synthesized", updatedAt: updated(5), task: task(30, now, 20) }),
      "restore",
    ],
    [
      "audio older than 7 days fails with AudioExpired",
      job({ state: "synthesized", updatedAt: updated(5), task: task(8 * 24 * 60, now, 7 * 24 * 60 + 1) }),
      "fail",
      { code: "AudioExpired" },
    ],
    [
      "a split job is driven, forced when stale",
      job({ state: "submitted", updatedAt: updated(5), parts: [{ jobId: "a", characters: 1 }] }),
      "drive-parent",
      { force: true },
    ],
    [
      "a split job is driven, not forced when fresh",
      job({ state: "submitted", updatedAt: updated(1), parts: [{ jobId: "a", characters: 1 }] }),
      "drive-parent",
      { force: false },
    ],
    [
      "a split job is never timed out itself (its parts are)",
      job({
        state: "submitted",
        createdAt: updated(600),
        updatedAt: updated(5),
        parts: [{ jobId: "a", characters: 1 }],
      }),
      "drive-parent",
    ],
  ];
  it.each(cases)("%s", (_name, j, kind, extra) => {
    const action = reconcileAction(j, now, STALE, NLS);
    expect(action.kind).toBe(kind);
    if (extra) expect(action).toMatchObject(extra);
  });
});

describe("each provider's own limits", () => {
  const now = T0 + 30 * 24 * HOUR;
  const synthesized = (finishedHoursAgo: number): Job =>
    job({
      state: "synthesized",
      updatedAt: new Date(now - finishedHoursAgo * HOUR).toISOString(),
      task: task(finishedHoursAgo * 60 + 5, now, finishedHoursAgo * 60),
    });

  it("fails audio past its provider's retention, in that provider's words", () => {
    const minimax = {
      deadline: NLS.deadline,
      retention: { ms: 24 * HOUR, says: "the 24 hours MiniMax's audio URL is valid" },
    };
    expect(reconcileAction(synthesized(25), now, STALE, minimax)).toMatchObject({
      kind: "fail",
      code: "AudioExpired",
      reason: expect.stringContaining("24 hours MiniMax"),
    });
    // The same audio is within NLS's 7 days: store is invoked again.
    expect(reconcileAction(synthesized(25), now, STALE, NLS).kind).toBe("restore");
  });

  it("never expires audio a provider wrote into our bucket (ICE has no retention)", () => {
    const ice = { deadline: { ms: 3 * HOUR, says: "the 3 hours this deployment gives an ICE audio job" } };
    expect(reconcileAction(synthesized(24 * 20), now, STALE, ice).kind).toBe("restore");
  });

  it("times a task out by its provider's deadline and says whose it is", () => {
    const submitted = job({
      state: "submitted",
      updatedAt: new Date(now - 4 * HOUR).toISOString(),
      task: task(240, now),
    });
    const ice = { deadline: { ms: 3 * HOUR, says: "the 3 hours this deployment gives an ICE audio job" } };
    expect(reconcileAction(submitted, now, STALE, ice)).toMatchObject({
      kind: "fail",
      code: "Timeout",
      reason: "the provider did not finish the task within the 3 hours this deployment gives an ICE audio job",
    });
    const longer = { deadline: { ms: 5 * HOUR, says: "5 hours" } };
    expect(reconcileAction(submitted, now, STALE, longer).kind).toBe("poll");
  });
});
