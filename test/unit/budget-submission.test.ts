/**
 * The budget around a job's provider calls: a lease is held for the call only. A synchronous provider's part that ends
 * drives its parent, which submits the next part at once; a lease still held then made the next part wait for a lease
 * its own predecessor held (at concurrency 1, for ever; in the budget bench, leases held four times the tasks running).
 */
import { describe, expect, it } from "vitest";
import { AccountBudget } from "../../lib/budget/account-budget.js";
import type { JobProvider } from "../../lib/jobs/providers.js";
import { JobRecords } from "../../lib/jobs/records.js";
import { JobOptionsSchema } from "../../lib/jobs/schema.js";
import { JobService } from "../../lib/jobs/service.js";
import { createLogger } from "../../lib/log.js";
import { MemoryBucket } from "../../lib/storage/bucket.js";
import { countNlsChars } from "../../lib/text/index.js";

/** A MiniMax-shaped provider: what each test sets (how it answers, its part limit) over what they share. */
function minimaxLike(
  over: Pick<JobProvider, "synchronous" | "callsBack" | "limit" | "submit" | "status">,
): JobProvider {
  return {
    name: "minimax",
    api: "minimax",
    callMs: 60_000,
    paceMsPerCharacter: 25,
    audio: "url",
    deadline: { ms: 3 * 3600_000, says: "3 hours" },
    validate: (text) => ({ characters: countNlsChars(text) }),
    ...over,
  };
}

/** A job service over `storage` with `provider` as MiniMax, and the part bound and budget a test gives. */
function serviceOf(
  storage: MemoryBucket,
  provider: JobProvider,
  over: Pick<ConstructorParameters<typeof JobService>[0], "partConcurrency" | "invoker" | "budget" | "budgetWaitMs">,
): { jobs: JobRecords; service: JobService } {
  const jobs = new JobRecords(storage, "jobs/");
  const service = new JobService({
    jobs,
    storage,
    providers: { nls: undefined, ice: undefined, minimax: provider },
    log: createLogger({ level: "error", write: () => undefined }),
    callbackSecret: "c".repeat(40),
    outputPrefix: "output/",
    partsPrefix: "jobs/parts/",
    ...over,
  });
  return { jobs, service };
}

/** Creates a MiniMax job of `text` (split into parts past the provider's limit). */
function createJob(service: JobService, text: string) {
  return service.create({
    provider: "minimax",
    text,
    ssml: false,
    options: JobOptionsSchema.parse({ voice: "male-qn-qingse", subtitles: [] }),
    audioKey: "output/a.mp3",
    idempotencyKey: "k",
    source: { kind: "inline" },
  });
}

describe("the budget around a job's provider calls", () => {
  it("holds a lease for the provider call only: a split job's parts run one after another at concurrency 1", async () => {
    const storage = new MemoryBucket("bucket");
    const budget = new AccountBudget({
      bucket: storage,
      root: "jobs/budget/",
      limits: { minimax: { concurrency: 1, interactive: 0, interactivePerSecond: 0 } },
    });
    const liveAtCall: number[] = [];
    const provider = minimaxLike({
      synchronous: true,
      callsBack: false,
      limit: 40,
      submit: async (job) => {
        liveAtCall.push((await budget.snapshot("minimax")).leases.length);
        return `url:${Buffer.from(`https://audio.example.com/${job.id}.mp3`).toString("base64url")}`;
      },
      status: async () => ({ state: "success", audioAddress: "https://audio.example.com/a.mp3", sentences: [] }),
    });
    const invoked: Array<{ name: string; payload: unknown }> = [];
    const { service } = serviceOf(storage, provider, {
      invoker: { invokeAsync: async (name, payload) => void invoked.push({ name, payload }) },
      partConcurrency: 1,
      budget,
      budgetWaitMs: 0,
    });
    const { job } = await createJob(
      service,
      Array.from({ length: 4 }, (_, i) => `这是第${i}个很长的句子，它需要被分开处理。`).join(""),
    );
    // Every part was called, each with its own lease the only one live; none waited, none was handed to FC's queue.
    expect(liveAtCall).toEqual(Array(job.parts!.length).fill(1));
    expect(invoked.filter((i) => i.name === "submit")).toEqual([]);
    expect((await budget.snapshot("minimax")).leases).toEqual([]);
  });
});

describe("where a submission waits in line", () => {
  it("waits only in the functions FC's queue runs; an HTTP request or the timer's sweep hands its turn on at once", async () => {
    const { budgetWaitMs } = await import("../../lib/runtime.js");
    const config = { BUDGET_WAIT_SECONDS: 20 } as Parameters<typeof budgetWaitMs>[1];
    expect(
      ["submit", "store", "speech", "callback", "reconcile", undefined].map((f) => budgetWaitMs(f, config)),
    ).toEqual([20_000, 20_000, 0, 0, 0, 0]);
  });
});

describe("driving a split job", () => {
  it("reads the parts it may start, not every part on every drive: reads grow with the parts, not their square", async () => {
    const storage = new MemoryBucket("bucket");
    let tasks = 0;
    const provider = minimaxLike({
      synchronous: false,
      callsBack: true,
      limit: 20,
      submit: async () => `task-${++tasks}`,
      status: async () => ({ state: "pending" }),
    });
    const { jobs, service } = serviceOf(storage, provider, {
      invoker: { invokeAsync: async () => undefined },
      partConcurrency: 4,
    });
    const { job } = await createJob(
      service,
      Array.from({ length: 60 }, (_, i) => `这是第${i}个句子，内容不同。`).join(""),
    );
    const parts = job.parts!.map((p) => p.jobId);
    expect(parts.length).toBeGreaterThanOrEqual(30);
    let partReads = 0;
    const get = storage.get.bind(storage);
    storage.get = async (key, ...rest) => {
      if (parts.some((id) => key.endsWith(`${id}.json`))) partReads++;
      return get(key, ...rest);
    };
    // Each part ends in turn (the provider's callback, reduced to its record and the end's drive).
    for (const id of parts) {
      const part = (await jobs.get(id))!;
      expect(part.state).toBe("submitted"); // the drives before started it, in order, within the bound
      const done = { ...part, state: "done" as const };
      await jobs.put(done);
      await service.ended(done);
    }
    expect(tasks).toBe(parts.length);
    // Each drive reads the parts in flight and the next few queued ones (ended ones once): about 2 × 4 per end. Every
    // part on every drive was 60 × 60 / 2 at least.
    expect(partReads).toBeLessThan(parts.length * 12);
  });
});
