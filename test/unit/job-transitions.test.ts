/**
 * The job and batch state machines against the in-memory object store, a scripted provider and a recording invoker:
 * every transition in milliseconds, no sockets. (The e2e suites prove the same flows over the emulators.)
 */

import { beforeEach, describe, expect, it } from "vitest";
import { batchEventOf, rejectedBatchEvent } from "../../functions/_fc/events.js";
import { BatchService } from "../../lib/batches/service.js";
import { InputError, UpstreamError } from "../../lib/errors.js";
import { checkOutputKey } from "../../lib/jobs/intake.js";
import type { JobProvider, ProviderStatus } from "../../lib/jobs/providers.js";
import { JobRecords } from "../../lib/jobs/records.js";
import { type Job, JobOptionsSchema } from "../../lib/jobs/schema.js";
import { JobService, type NewJob } from "../../lib/jobs/service.js";
import { applyOptionsFile, jobFromObject } from "../../lib/jobs/upload-intake.js";
import { createLogger } from "../../lib/log.js";
import { LONG_TEXT_DEADLINE_MS } from "../../lib/providers/nls/long-text.js";
import { MemoryBucket } from "../../lib/storage/bucket.js";
import { countNlsChars } from "../../lib/text/index.js";

/** A provider whose tasks finish or fail when the test says so. */
class ScriptedProvider implements JobProvider {
  readonly name = "nls" as const;
  readonly api = "nls-long-text" as const;
  readonly callMs = 60_000;
  readonly paceMsPerCharacter = 25;
  readonly audio = "url" as const;
  readonly callsBack = true;
  readonly limit = 40;
  readonly deadline = { ms: 3 * 3600_000, says: "the 3 hours NLS promises for a long-text task" };
  readonly retention = { ms: 7 * 24 * 3600_000, says: "the 7 days NLS keeps a task's audio" };
  readonly submitted: Array<{ jobId: string; taskId: string; text: string; notifyUrl?: string }> = [];
  readonly #status = new Map<string, ProviderStatus | UpstreamError>();

  validate(text: string): { characters: number } {
    if (text.trim() === "") throw new InputError("text", "must contain text to speak");
    return { characters: countNlsChars(text) };
  }
  async submit(job: Job, text: string, notifyUrl: string | undefined): Promise<string> {
    const taskId = `task-${this.submitted.length + 1}`;
    this.submitted.push({ jobId: job.id, taskId, text, notifyUrl });
    this.#status.set(taskId, { state: "pending" });
    return taskId;
  }
  async status(taskId: string): Promise<ProviderStatus> {
    const s = this.#status.get(taskId);
    if (s instanceof Error) throw s;
    return s ?? { state: "pending" };
  }
  finish(taskId: string): void {
    this.#status.set(taskId, {
      state: "success",
      audioAddress: "https://nls.example.aliyuncs.com/a.mp3",
      sentences: [],
    });
  }
  failTask(taskId: string, code: string, retryable: boolean): void {
    this.#status.set(
      taskId,
      new UpstreamError({ provider: "nls", code, upstreamMessage: `failed with ${code}`, retryable, taskId }),
    );
  }
}

let clock: number;
let storage: MemoryBucket;
let jobs: JobRecords;
let provider: ScriptedProvider;
let invoked: Array<{ name: string; payload: Record<string, unknown> }>;
let service: JobService;
let batches: BatchService;
const options = JobOptionsSchema.parse({ voice: "siqi" });
const log = createLogger({ level: "error", write: () => undefined });

beforeEach(() => {
  clock = Date.parse("2026-11-30T00:00:00Z");
  storage = new MemoryBucket("bucket");
  jobs = new JobRecords(storage, "jobs/");
  provider = new ScriptedProvider();
  invoked = [];
  let ids = 0;
  const invoker = {
    invokeAsync: async (name: string, payload: unknown) =>
      void invoked.push({ name, payload: payload as Record<string, unknown> }),
  };
  service = new JobService({
    jobs,
    storage,
    providers: { nls: provider, ice: undefined, minimax: undefined },
    invoker,
    log,
    callbackSecret: "c".repeat(40),
    callbackBaseUrl: "https://cb.example.com",
    outputPrefix: "output/",
    partsPrefix: "jobs/parts/",
    partConcurrency: 2,
    now: () => new Date(clock),
    newId: () => `job-${String(++ids).padStart(4, "0")}`,
    staleAfterMs: 120_000,
    onSynthesized: async (job) => batches.itemSynthesized(job),
    onEnded: async (job) => batches.itemEnded(job),
  });
  batches = new BatchService(batchDeps());
});

/** What a batch service is built from; a second service over the same storage is another (cold) instance. */
function batchDeps(): ConstructorParameters<typeof BatchService>[0] {
  return {
    jobs,
    service,
    storage,
    invoker: {
      invokeAsync: async (name, payload) => void invoked.push({ name, payload: payload as Record<string, unknown> }),
    },
    log,
    jobsPrefix: "jobs/",
    outputPrefix: "output/",
    inputPrefix: "input/",
    defaultProvider: "nls",
    concurrency: 2,
    secret: "s".repeat(40),
    staleAfterMs: 120_000,
    now: () => new Date(clock),
  };
}

const newJob = (text: string, extra: Partial<NewJob> = {}): NewJob => ({
  provider: "nls",
  text,
  ssml: false,
  options,
  audioKey: "output/a.mp3",
  idempotencyKey: `k:${text}`,
  source: { kind: "inline" },
  ...extra,
});
const record = async (id: string) => (await jobs.get(id))!;
/** `n` sentences, over the scripted provider's 40-character limit from 2 on: a job split into parts. */
const sentences = (n: number): string =>
  Array.from({ length: n }, (_, i) => `这是第${i}个很长的句子，它需要被分开处理。`).join("");
/** What the store function does for a synthesized job, reduced to the transitions: stored, then done. */
async function stored(id: string): Promise<void> {
  const job = await record(id);
  await jobs.put({ ...job, state: "done", result: { size: 1, storedAt: new Date(clock).toISOString() } });
  await service.ended({ ...job, state: "done" });
}

describe("job transitions (in memory)", () => {
  it("creates and submits once per idempotency key, with a path-signed callback URL", async () => {
    const first = await service.create(newJob("第一条。"));
    const again = await service.create(newJob("第一条。"));
    expect([first.created, again.created, again.job.id]).toEqual([true, false, first.job.id]);
    expect(first.job.state).toBe("submitted");
    expect(provider.submitted).toHaveLength(1);
    expect(new URL(provider.submitted[0]!.notifyUrl!).pathname).toMatch(/^\/callbacks\/nls\/job-0001\/[\w-]+$/);
  });

  it("refuses a different request under the same idempotency key with 422", async () => {
    await service.create(newJob("甲。", { idempotencyKey: "same", fingerprint: "a" }));
    await expect(service.create(newJob("乙。", { idempotencyKey: "same", fingerprint: "b" }))).rejects.toMatchObject({
      statusCode: 422,
      code: "IdempotencyKeyReused",
    });
  });

  it("hands a finished task to store exactly once, however many callbacks race", async () => {
    const { job } = await service.create(newJob("完成。"));
    provider.finish(job.task!.id);
    await Promise.all(Array.from({ length: 20 }, async () => service.pollTask(await record(job.id), { force: false })));
    expect((await record(job.id)).state).toBe("synthesized");
    expect(invoked.filter((i) => i.name === "store")).toEqual([{ name: "store", payload: { jobId: job.id } }]);
  });

  it("resubmits a task that failed transiently, twice, then fails the job with the provider's code", async () => {
    const { job } = await service.create(newJob("重试。"));
    for (const retry of [1, 2]) {
      provider.failTask(provider.submitted.at(-1)!.taskId, "51020001", true);
      const after = await service.pollTask(await record(job.id), { force: false });
      expect([after.state, after.retries]).toEqual(["submitted", retry]);
    }
    provider.failTask(provider.submitted.at(-1)!.taskId, "51020001", true);
    const last = await service.pollTask(await record(job.id), { force: false });
    expect(last).toMatchObject({ state: "failed", failure: { code: "51020001" } });
    expect(provider.submitted).toHaveLength(3);
  });

  it("fails a job at once on a terminal code", async () => {
    const { job } = await service.create(newJob("失败。"));
    provider.failTask(job.task!.id, "41020001", false);
    expect(await service.pollTask(await record(job.id), { force: false })).toMatchObject({
      state: "failed",
      failure: { code: "41020001" },
    });
  });

  it("reconcile polls a job whose callback was lost, and fails one past the 3-hour promise", async () => {
    const { job: lost } = await service.create(newJob("回调丢了。"));
    provider.finish(lost.task!.id);
    clock += 5 * 60_000;
    expect(await service.reconcile()).toMatchObject({ polled: 1 });
    expect((await record(lost.id)).state).toBe("synthesized");
    const { job: slow } = await service.create(newJob("太慢了。"));
    clock += LONG_TEXT_DEADLINE_MS + 1;
    await service.reconcile();
    expect((await record(slow.id)).failure?.code).toBe("Timeout");
  });

  it("splits text over the limit into parts, runs two at a time, and hands the whole to store once all are done", async () => {
    const text = sentences(6);
    const { job: parent } = await service.create(newJob(text));
    expect(parent.parts!.length).toBeGreaterThanOrEqual(3);
    expect(provider.submitted).toHaveLength(2);
    for (let done = 0; done < parent.parts!.length; done++) {
      const part = provider.submitted[done]!;
      provider.finish(part.taskId);
      await service.pollTask(await record(part.jobId), { force: false });
      await stored(part.jobId);
    }
    expect((await record(parent.id)).state).toBe("synthesized");
    expect(invoked.filter((i) => i.name === "store" && i.payload.jobId === parent.id)).toHaveLength(1);
  });

  it("submits a job's next part when a part's synthesis ends, while that part's audio is stored", async () => {
    const text = sentences(6);
    const { job: parent } = await service.create(newJob(text));
    expect(provider.submitted).toHaveLength(2);
    const first = provider.submitted[0]!;
    provider.finish(first.taskId);
    await service.pollTask(await record(first.jobId), { force: false });
    expect((await record(first.jobId)).state).toBe("synthesized");
    expect(provider.submitted).toHaveLength(3);
    // Its end, once stored, submits nothing more: two parts are synthesizing, the bound.
    await stored(first.jobId);
    expect(provider.submitted).toHaveLength(3);
    expect((await record(parent.id)).state).toBe("submitted");
  });

  it("parts whose syntheses end together never run more than the bound at once", async () => {
    const text = sentences(8);
    const { job: parent } = await service.create(newJob(text));
    expect(provider.submitted).toHaveLength(2);
    const [a, b] = provider.submitted;
    provider.finish(a!.taskId);
    provider.finish(b!.taskId);
    await Promise.all([
      service.pollTask(await record(a!.jobId), { force: false }),
      service.pollTask(await record(b!.jobId), { force: false }),
    ]);
    const states = await Promise.all(parent.parts!.map(async (p) => (await record(p.jobId)).state));
    expect(states.filter((s) => s === "submitted").length).toBeLessThanOrEqual(2);
    expect(provider.submitted).toHaveLength(4);
  });

  it("two drives of one parent at once (a part's end, another's synthesis) submit no more parts than the bound", async () => {
    const text = sentences(8);
    const { job: parent } = await service.create(newJob(text));
    const [a] = provider.submitted;
    provider.finish(a!.taskId);
    const part = await record(a!.jobId);
    await jobs.put({ ...part, state: "done" });
    // Each drive sees one free slot; the one that loses the election on the next part must not take the part after it.
    await Promise.all([service.driveParent(await record(parent.id)), service.driveParent(await record(parent.id))]);
    const states = await Promise.all(parent.parts!.map(async (p) => (await record(p.jobId)).state));
    expect(states.filter((s) => s === "submitted")).toHaveLength(2);
    expect(provider.submitted).toHaveLength(3);
  });

  it("a part whose synthesis could not drive its parent drives it at its end", async () => {
    const text = sentences(6);
    const { job: parent } = await service.create(newJob(text));
    const first = provider.submitted[0]!;
    provider.finish(first.taskId);
    const real = storage.get.bind(storage);
    storage.get = async (key: string) => {
      if (key.endsWith(`/records/${parent.id}.json`)) throw new Error("OSS is down");
      return real(key);
    };
    await service.pollTask(await record(first.jobId), { force: false });
    storage.get = real;
    expect((await record(first.jobId)).state).toBe("synthesized");
    expect(provider.submitted).toHaveLength(2);
    await stored(first.jobId);
    expect(provider.submitted).toHaveLength(3);
  });

  it("a slow drive that read the parent before its part was replaced and the whole assembled never undoes the end", async () => {
    const { job: parent } = await service.create(newJob(sentences(3)));
    expect(parent.parts!.length).toBeGreaterThan(1);
    // A drive that read the parent now, and is slow.
    const stale = await record(parent.id);
    // Every part synthesized and stored; the first failed after its synthesis (its audio lacked a sentence), and its
    // end drove the parent, which replaced it.
    for (const part of parent.parts!) {
      if (!provider.submitted.some((s) => s.jobId === part.jobId)) await service.submit(await record(part.jobId));
      provider.finish(provider.submitted.find((s) => s.jobId === part.jobId)!.taskId);
      await service.pollTask(await record(part.jobId), { force: false });
      if (part === parent.parts![0]) await service.fail(await record(part.jobId), "MissingSentences", "lost one");
      else await stored(part.jobId);
    }
    // The replacement is made and stored, and the whole assembled and ended.
    const replacement = (await record(parent.id)).parts![0]!.jobId;
    expect(replacement).not.toBe(parent.parts![0]!.jobId);
    provider.finish(provider.submitted.find((s) => s.jobId === replacement)!.taskId);
    await service.pollTask(await record(replacement), { force: false });
    await stored(replacement);
    expect((await record(parent.id)).state).toBe("synthesized");
    await stored(parent.id);
    // The slow drive finds the failed part in its copy: the parent is not written back (it was: done went back to
    // submitted, and the job waited for reconcile).
    await service.driveParent(stale);
    expect((await record(parent.id)).state).toBe("done");
    expect((await record(parent.id)).parts![0]!.jobId).toBe(replacement);
  });

  it("reconcile re-drives an assembly whose elected caller died after its election", async () => {
    const text = Array.from({ length: 3 }, (_, i) => `第${i}句，足够长的一句话用来分段。`).join("");
    const { job: parent } = await service.create(newJob(text));
    await storage.put(`jobs/elect/${parent.id}/assemble`, "2000-01-01T00:00:00.000Z someone-else");
    for (const part of parent.parts!) {
      if (!provider.submitted.some((s) => s.jobId === part.jobId)) await service.submit(await record(part.jobId));
      const sub = provider.submitted.find((s) => s.jobId === part.jobId)!;
      provider.finish(sub.taskId);
      await service.pollTask(await record(part.jobId), { force: false });
      await stored(part.jobId);
    }
    expect((await record(parent.id)).state).toBe("submitted");
    clock += 5 * 60_000;
    await service.reconcile();
    expect((await record(parent.id)).state).toBe("synthesized");
  });
});

describe("split jobs after a crash (issue 26, defect 3)", () => {
  it("finishes a job whose part's submitter died right after its election: reconcile submits the part", async () => {
    const { job: parent } = await service.create(newJob(sentences(6)));
    const waiting = parent.parts!.map((p) => p.jobId).filter((id) => !provider.submitted.some((s) => s.jobId === id));
    expect(waiting.length).toBeGreaterThanOrEqual(1);
    // The crash: the next part's submit-0 election is written, and nothing after it.
    await jobs.elect(waiting[0]!, "submit-0", new Date(clock));
    for (let round = 0; round < 30 && (await record(parent.id)).state === "submitted"; round++) {
      for (const t of [...provider.submitted]) {
        if ((await record(t.jobId)).state !== "submitted") continue;
        provider.finish(t.taskId);
        await service.pollTask(await record(t.jobId), { force: false });
        await stored(t.jobId);
      }
      clock += 5 * 60_000;
      await service.reconcile();
    }
    expect((await record(parent.id)).state).toBe("synthesized");
    // Every part was submitted exactly once: the dead submitter's never reached the provider.
    const perPart = parent.parts!.map((p) => provider.submitted.filter((s) => s.jobId === p.jobId).length);
    expect(perPart.every((n) => n === 1)).toBe(true);
  });
});

describe("batch transitions (in memory)", () => {
  const event = (n: number, extra: Record<string, unknown> = {}) => ({
    id: "evt-1",
    source: "tts.batch",
    specversion: "1.0",
    type: "t",
    data: {
      batchId: "b1",
      items: Array.from({ length: n }, (_, i) => ({ id: `i${i}`, text: i === 1 ? "   " : `第${i}条。` })),
      outputPrefix: "output/b1/",
      ...extra,
    },
  });
  const dispatched = () =>
    invoked.filter((i) => i.name === "submit").map((i) => (i.payload.batchItem as { index: number }).index);
  /** Runs item `index` of batch b1 (as `submit` would) and finishes its synthesis; its job's id. */
  const synthesizeItem = async (index: number): Promise<string> => {
    const { jobId } = await batches.runItem("b1", index);
    const job = await record(jobId!);
    provider.finish(job.task!.id);
    await service.pollTask(job, { force: false });
    return jobId!;
  };

  it("an item split into parts is done only when its whole audio is stored, not when a part is (issue 26, defect 1)", async () => {
    await batches.start(
      batchEventOf({
        ...event(2),
        data: {
          batchId: "b1",
          items: [
            { id: "long", text: sentences(5) },
            { id: "short", text: "第一条。" },
          ],
          outputPrefix: "output/b1/",
        },
      }),
    );
    const { jobId: parentId } = await batches.runItem("b1", 0);
    const short = await synthesizeItem(1);
    await stored(short);
    const parent = await record(parentId!);
    expect(parent.parts!.length).toBeGreaterThanOrEqual(2);
    // Every part synthesized and stored: the parent is handed to store, and until it is stored its item is not done.
    for (let k = 0; k < 20; k++) {
      const open = provider.submitted.filter((t) => t.jobId !== short);
      const pending = [];
      for (const t of open) if ((await record(t.jobId)).state === "submitted") pending.push(t);
      if (pending.length === 0) break;
      for (const t of pending) {
        provider.finish(t.taskId);
        await service.pollTask(await record(t.jobId), { force: false });
        await stored(t.jobId);
      }
    }
    expect((await record(parentId!)).state).toBe("synthesized");
    expect((await batches.manifest("b1"))?.state).toBe("running");
    const view = (await batches.view("b1")) as { items: Array<{ id: string; state: string }> };
    expect(view.items.find((i) => i.id === "long")?.state).not.toBe("done");
    await stored(parentId!);
    expect(await batches.view("b1")).toMatchObject({ state: "done", counts: { done: 2 } });
  });

  it("refuses an item whose output is another item's, naming both (issue 26, defect 4)", async () => {
    const manifest = await batches.start(
      batchEventOf({
        ...event(2),
        data: {
          batchId: "b1",
          items: [
            { id: "a", text: "第一条。", output: { key: "output/b1/same.mp3" } },
            { id: "b", text: "第二条。", output: { key: "output/b1/same.mp3" } },
          ],
          outputPrefix: "output/b1/",
        },
      }),
    );
    expect(manifest.items[0]!.state).toBe("queued");
    expect(manifest.items[1]).toMatchObject({
      state: "failed",
      failure: { code: "OutputTaken", reason: expect.stringContaining("item a's output already") },
    });
  });

  it("starts with a handful of writes, dispatches only the bound, refuses a bad item up front", async () => {
    const manifest = await batches.start(batchEventOf(event(6)));
    expect(manifest.items[1]).toMatchObject({
      state: "failed",
      failure: { reason: expect.stringMatching(/must contain text/) },
    });
    expect(dispatched()).toEqual([0, 2]);
    expect(await jobs.get(manifest.items[3]!.jobId!)).toBeUndefined(); // made when it gets a slot
    expect(storage.ops.filter((o) => o.op === "put" && o.key.startsWith("jobs/records/"))).toHaveLength(0);
  });

  it("hands each ended item's slot to the next, and makes the manifest final once", async () => {
    await batches.start(batchEventOf(event(5)));
    for (let k = 0; k < 20 && (await batches.manifest("b1"))?.state === "running"; k++) {
      const pending = dispatched().filter((i) => !ran.has(i));
      for (const i of pending) {
        ran.add(i);
        await stored(await synthesizeItem(i));
      }
    }
    const final = await batches.view("b1");
    expect(final).toMatchObject({ state: "partial", counts: { done: 4, failed: 1 } });
    expect(dispatched()).toEqual([0, 2, 3, 4]);
    expect(storage.keys("jobs/batch-pending/")).toEqual([]);
  });
  it("hands an item's slot on when its synthesis ends, and completes the batch when an item ends after its successor", async () => {
    // Items 0, 2 and 3 (1 is refused at the start), two at a time: 0's turn passes to 3.
    await batches.start(batchEventOf(event(4)));
    expect(dispatched()).toEqual([0, 2]);
    const first = await synthesizeItem(0);
    expect((await record(first)).state).toBe("synthesized");
    expect(dispatched()).toEqual([0, 2, 3]);
    // 3 and 2 end while 0's audio is still being stored; 0 ends last, after its successor, and completes the batch.
    await stored(await synthesizeItem(3));
    await stored(await synthesizeItem(2));
    expect((await batches.manifest("b1"))?.state).toBe("running");
    await stored(first);
    expect(await batches.view("b1")).toMatchObject({ state: "partial", counts: { done: 3, failed: 1 } });
    expect(dispatched()).toEqual([0, 2, 3]);
  });

  it("a forced reconcile while an item is stored leaves a slot it handed on alone: the bound holds", async () => {
    await batches.start(batchEventOf(event(5)));
    await batches.runItem("b1", 2);
    await synthesizeItem(0);
    expect(dispatched()).toEqual([0, 2, 3]);
    await batches.runItem("b1", 3);
    clock += 5 * 60_000;
    await batches.reconcile();
    expect(dispatched()).toEqual([0, 2, 3]);
  });

  it("a slot whose hand-on failed is refilled by a forced reconcile while the item is stored, never twice", async () => {
    await batches.start(batchEventOf(event(4)));
    await batches.runItem("b1", 2); // the other item in flight has its job (a forced reconcile would send it again)
    const { jobId } = await batches.runItem("b1", 0);
    const job = await record(jobId!);
    provider.finish(job.task!.id);
    const real = storage.put.bind(storage);
    storage.put = async (key, body, opts) => {
      if (key.endsWith("/dispatch-00003")) throw new Error("OSS is down");
      return real(key, body, opts);
    };
    await service.pollTask(job, { force: false });
    storage.put = real;
    expect((await record(jobId!)).state).toBe("synthesized");
    expect(dispatched()).toEqual([0, 2]);
    // A reconcile within the grace period counts the item as in flight (it reads no records)...
    await batches.reconcile();
    expect(dispatched()).toEqual([0, 2]);
    // ...a forced one reads it: synthesized, so it holds no provider task, and its slot is refilled while it is stored.
    clock += 5 * 60_000;
    await batches.reconcile();
    expect(dispatched()).toEqual([0, 2, 3]);
    await batches.runItem("b1", 3);
    await batches.reconcile();
    expect(dispatched()).toEqual([0, 2, 3]);
    // Its end does not hand the slot on a second time (its synthesis did, as far as it knows).
    await stored(jobId!);
    await batches.reconcile();
    expect(dispatched()).toEqual([0, 2, 3]);
  });

  it("a cold instance running a wave of items together reads the manifest and the item specs once", async () => {
    await batches.start(batchEventOf(event(6)));
    const cold = new BatchService({ ...batchDeps(), concurrency: 2 });
    const before = storage.ops.length;
    const results = await Promise.all([0, 2, 3, 4].map((i) => cold.runItem("b1", i)));
    expect(results.every((r) => r.state === "submitted")).toBe(true);
    const reads = storage.ops.slice(before).filter((o) => o.op === "get" && o.key.includes("b1"));
    // Each item's submission looks for its batch's cancel (and its own job's) before and just after noting its call:
    // per item, not shared.
    const cancels = reads.filter((o) => o.key.startsWith("jobs/cancels/"));
    expect(cancels.map((o) => o.key)).toEqual(Array(8).fill("jobs/cancels/batches/b1"));
    expect(
      reads
        .filter((o) => !o.key.startsWith("jobs/cancels/"))
        .map((o) => o.key)
        .sort(),
    ).toEqual([expect.stringMatching(/^jobs\/batch-state\/b1\/items-[0-9a-f]{16}\.json$/), "jobs/batches/b1.json"]);
  });

  it("a re-delivered item finds its job by key, submits it only if it never was, and makes no second task", async () => {
    await batches.start(batchEventOf(event(3)));
    const first = await batches.runItem("b1", 0);
    expect(first.state).toBe("submitted");
    const again = await batches.runItem("b1", 0);
    expect(again).toEqual(first);
    expect(provider.submitted.filter((s) => s.jobId === first.jobId)).toHaveLength(1);
    // The first delivery made the job, and the provider refused it for a moment: the re-delivery submits it.
    const waiting = await record(first.jobId!);
    await jobs.put({ ...waiting, state: "queued", task: undefined, retries: 1 });
    expect(await batches.runItem("b1", 0)).toEqual({ jobId: first.jobId, state: "submitted" });
    expect(provider.submitted.filter((s) => s.jobId === first.jobId)).toHaveLength(2);
  });

  it("a failed shared read is not kept: the next caller reads again", async () => {
    await batches.start(batchEventOf(event(3)));
    const cold = new BatchService({ ...batchDeps(), concurrency: 2 });
    const real = storage.get.bind(storage);
    let failing = true;
    storage.get = async (key: string) => {
      if (failing && key.startsWith("jobs/batches/")) throw new Error("OSS is down");
      return real(key);
    };
    await expect(Promise.all([cold.runItem("b1", 0), cold.runItem("b1", 2)])).rejects.toThrow("OSS is down");
    failing = false;
    expect(await cold.runItem("b1", 0)).toMatchObject({ state: "submitted" });
  });

  const ran = new Set<number>();
  beforeEach(() => ran.clear());
});

describe("keys that cannot be stored are refused up front (issue 26, defect 11)", () => {
  it("refuses an output key with a '.' segment, and a batch id of '.' records its refusal under another id", async () => {
    expect(() => checkOutputKey("output/x/./y.mp3", "output/", "output.key", "mp3")).toThrow(/'\.' segment/);
    const manifest = await batches.start(
      batchEventOf({
        id: "evt-dots",
        source: "tts.batch",
        specversion: "1.0",
        type: "t",
        data: {
          batchId: "dots",
          items: [{ id: "a", text: "好。", output: { key: "output/d/./a.mp3" } }],
          outputPrefix: "output/d/",
        },
      }),
    );
    expect(manifest.items[0]).toMatchObject({
      state: "failed",
      failure: { reason: expect.stringContaining("'.' segment") },
    });
    for (const id of [".", ".."]) {
      const event = {
        id,
        source: "tts.batch",
        specversion: "1.0",
        type: "t",
        data: { batchId: id, items: [{ id: "a", text: "好。" }], outputPrefix: "output/dots/" },
      };
      await expect(batches.start(batchEventOf(event))).rejects.toMatchObject({ field: "data.batchId" });
      const rejection = await batches.reject(
        rejectedBatchEvent(event),
        new InputError("data.batchId", "must not be '.'"),
      );
      expect(rejection).toMatchObject({ state: "rejected" });
      expect((rejection as { batchId?: string }).batchId).toMatch(/^[0-9a-f]{32}$/);
    }
  });
});

describe("an upload's options file", () => {
  const intake = () => ({
    storage,
    service,
    inputPrefix: "input/",
    outputPrefix: "output/",
    defaultProvider: "nls" as const,
  });
  const upload = async (key: string, body: string, meta?: Record<string, string>) => {
    await storage.put(key, body, meta ? { meta } : {});
    return (await storage.head(key))!.etag.replace(/"/g, "");
  };

  it("makes the text again with options uploaded after it; the same options again change nothing", async () => {
    const etag = await upload("input/ch1.txt", "第一章。");
    const first = await jobFromObject("input/ch1.txt", etag, intake());
    expect(first.job.options).toMatchObject({ voice: "siqi", format: "mp3" });
    expect(first.job.source).toMatchObject({ optionsFrom: expect.stringMatching(/^defaults/) });
    // The options file comes after its text: the text is made again with them, and the record says from where.
    await upload("input/ch1.json", JSON.stringify({ voice: "xiaoyun", format: "wav" }));
    const applied = await applyOptionsFile("input/ch1.json", intake());
    expect(applied).toEqual([{ state: "applied", text: "input/ch1.txt", jobId: expect.any(String), created: true }]);
    const again = await jobs.get((applied[0] as { jobId: string }).jobId);
    expect(again).toMatchObject({
      options: { voice: "xiaoyun", format: "wav" },
      output: { audioKey: "output/ch1.wav" },
    });
    expect(again?.source).toMatchObject({ optionsFrom: expect.stringMatching(/^input\/ch1\.json \(ETag /) });
    // The same event delivered again, or the text uploaded again unchanged: the same job.
    expect(await applyOptionsFile("input/ch1.json", intake())).toMatchObject([{ created: false }]);
    expect((await jobFromObject("input/ch1.txt", etag, intake())).job.id).toBe(again!.id);
    expect(provider.submitted).toHaveLength(2);
  });

  it("waits for its text when it comes first, and the text's job reads it", async () => {
    await upload("input/ch2.json", JSON.stringify({ voice: "xiaoyun" }));
    expect(await applyOptionsFile("input/ch2.json", intake())).toEqual([
      { state: "waiting", text: ["input/ch2.txt", "input/ch2.ssml", "input/ch2.md", "input/ch2.epub"] },
    ]);
    const etag = await upload("input/ch2.txt", "第二章。");
    expect((await jobFromObject("input/ch2.txt", etag, intake())).job.options.voice).toBe("xiaoyun");
  });

  it("makes identical text again when its metadata options changed, not when they did not", async () => {
    const etag = await upload("input/ch3.txt", "第三章。", { voice: "xiaoyun" });
    const a = await jobFromObject("input/ch3.txt", etag, intake());
    const sameEtag = await upload("input/ch3.txt", "第三章。", { voice: "siqi" });
    expect(sameEtag).toBe(etag);
    const b = await jobFromObject("input/ch3.txt", sameEtag, intake());
    expect(b.created).toBe(true);
    expect(b.job.options.voice).toBe("siqi");
    expect((await jobFromObject("input/ch3.txt", sameEtag, intake())).created).toBe(false);
    expect(a.job.id).not.toBe(b.job.id);
  });

  it("fails the text's job naming a bad options file, and takes a corrected one as another attempt", async () => {
    const etag = await upload("input/ch4.txt", "第四章。");
    await upload("input/ch4.json", "{not json");
    const refused = await jobFromObject("input/ch4.txt", etag, intake());
    expect(refused.job).toMatchObject({
      state: "failed",
      failure: { reason: expect.stringMatching(/not valid JSON/) },
    });
    await upload("input/ch4.json", JSON.stringify({ voice: "siqi" }));
    const fixed = await applyOptionsFile("input/ch4.json", intake());
    expect(fixed).toMatchObject([{ state: "applied", created: true }]);
    expect((await jobs.get((fixed[0] as { jobId: string }).jobId))?.state).toBe("submitted");
  });
});

describe("the audible AIGC notice", () => {
  it("is a part of its own, first, in the job's voice; SSML text gets it as SSML", async () => {
    const audible = { ...options, label: { audible: true } };
    const plain = await service.create(newJob("短文本。", { options: audible }));
    expect(plain.job.parts).toHaveLength(2);
    const notice = await record(plain.job.parts![0]!.jobId);
    expect((await storage.get(jobs.textKey(notice.id)))?.toString()).toBe("本音频由人工智能生成。");
    expect(notice.options.voice).toBe(options.voice);
    const ssml = await service.create(
      newJob("<speak>短文本。</speak>", { ssml: true, options: audible, idempotencyKey: "k:ssml" }),
    );
    const ssmlNotice = await record(ssml.job.parts![0]!.jobId);
    expect((await storage.get(jobs.textKey(ssmlNotice.id)))?.toString()).toBe("<speak>本音频由人工智能生成。</speak>");
    // Without the option, a short text stays one job.
    expect((await service.create(newJob("另一段短文本。"))).job.parts).toBeUndefined();
  });
});
