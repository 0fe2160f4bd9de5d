/**
 * Intake: a request or an upload becomes a job's description, idempotent per owner, with its options from the request,
 * a sibling .json or the object's metadata; what cannot be a job is refused naming its field, or recorded as failed.
 */
import { describe, expect, it } from "vitest";
import { ownerOfKey } from "../../lib/auth.js";
import { JobRequestSchema, jobFromRequest, readInputText } from "../../lib/jobs/intake.js";
import type { JobService, NewJob } from "../../lib/jobs/service.js";
import { jobFromObject, optionsForObject } from "../../lib/jobs/upload-intake.js";
import { MemoryBucket } from "../../lib/storage/bucket.js";
import { parseInput } from "../../lib/validation.js";
import { jobRecord } from "../helpers/job-record.js";

const owner = ownerOfKey("intake-key-1");

/** A service that records what it is asked to make. */
function recordingService() {
  const made: Array<{ kind: "create" | "failed"; input: unknown }> = [];
  const service = {
    create: async (input: NewJob) => {
      made.push({ kind: "create", input });
      return { job: jobRecord({ id: "job-made-1", output: { audioKey: input.audioKey } }), created: true };
    },
    createFailed: async (input: { code: string; reason: string; audioKey: string }) => {
      made.push({ kind: "failed", input });
      return jobRecord({
        id: "job-fail-1",
        state: "failed",
        failure: { code: input.code, reason: input.reason, at: "" },
      });
    },
  } as unknown as JobService;
  return { service, made };
}

const ctx = (storage: MemoryBucket, service: JobService) => ({
  storage,
  service,
  inputPrefix: "input/",
  outputPrefix: "output/",
  defaultProvider: "nls" as const,
});

describe("a job from a request", () => {
  it("is idempotent per owner by content or by Idempotency-Key, and writes only in the owner's namespace", async () => {
    const c = ctx(new MemoryBucket(), recordingService().service);
    const a = await jobFromRequest({ text: "你好。" }, null, owner, c);
    const again = await jobFromRequest({ text: "你好。" }, null, owner, c);
    const other = await jobFromRequest({ text: "你好。" }, null, ownerOfKey("someone-else"), c);
    expect(again.idempotencyKey).toBe(a.idempotencyKey);
    expect(other.idempotencyKey).not.toBe(a.idempotencyKey);
    expect(a.audioKey).toMatch(/^output\/jobs\/[0-9a-f]{24}\.mp3$/);
    const keyed = await jobFromRequest({ text: "你好。" }, "order-42", owner, c);
    expect(keyed.idempotencyKey).toBe(`http:${owner}:order-42`);
    await expect(jobFromRequest({ text: "好。" }, "bad key\n", owner, c)).rejects.toMatchObject({
      field: "Idempotency-Key",
    });
    await expect(
      jobFromRequest({ text: "好。", output: { key: "output/elsewhere/x.mp3" } }, null, owner, c),
    ).rejects.toMatchObject({ field: "output.key" });
  });

  it("reads an input object, refusing a missing, empty or non-UTF-8 one with its field", async () => {
    const storage = new MemoryBucket();
    await storage.put("input/book.ssml", "<speak>你好</speak>");
    await storage.put("input/empty.txt", "   ");
    await storage.put("input/latin1.txt", Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    const c = ctx(storage, recordingService().service);
    const job = await jobFromRequest({ input: { key: "input/book.ssml" } }, null, owner, c);
    expect(job).toMatchObject({ ssml: true, source: { kind: "oss", key: "input/book.ssml" } });
    await expect(readInputText(storage, "input/none.txt")).rejects.toMatchObject({ statusCode: 404 });
    await expect(readInputText(storage, "input/empty.txt")).rejects.toMatchObject({ code: "EmptyText" });
    await expect(readInputText(storage, "input/latin1.txt")).rejects.toMatchObject({ field: "input.key" });
  });
});

describe("an upload's options and job", () => {
  it("takes options from a sibling .json first, else from the object's metadata, else the defaults", async () => {
    const storage = new MemoryBucket();
    await storage.put("input/a.txt", "你好。", { meta: { voice: "xiaoyun", "sample-rate": "8000", subtitles: "srt" } });
    expect(await optionsForObject(storage, "input/a.txt")).toMatchObject({
      options: { voice: "xiaoyun", sampleRate: 8000, subtitles: ["srt"] },
      from: "the object's x-oss-meta-* metadata",
    });
    await storage.put("input/a.json", JSON.stringify({ voice: "siqi", format: "wav" }));
    expect((await optionsForObject(storage, "input/a.txt")).options).toMatchObject({ voice: "siqi", format: "wav" });
    await storage.put("input/b.txt", "好。");
    expect((await optionsForObject(storage, "input/b.txt")).from).toMatch(/^defaults/);
    await storage.put("input/c.json", "{not json");
    await expect(optionsForObject(storage, "input/c.txt")).rejects.toMatchObject({ field: "input/c.json" });
  });

  it("makes a job beside the upload's path, or records a failed one with the reason", async () => {
    const storage = new MemoryBucket();
    await storage.put("input/ch/1.txt", "第一章。");
    await storage.put("input/ch/2.txt", "");
    const { service, made } = recordingService();
    const { job } = await jobFromObject("input/ch/1.txt", "e1", ctx(storage, service));
    expect(job.id).toBe("job-made-1");
    expect(made[0]).toMatchObject({
      kind: "create",
      // Keyed by the upload and the options it was made with.
      input: {
        audioKey: "output/ch/1.mp3",
        idempotencyKey: expect.stringMatching(/^oss:memory\/input\/ch\/1\.txt@e1#[0-9a-f]{16}$/),
      },
    });
    const { job: failed } = await jobFromObject("input/ch/2.txt", "e2", ctx(storage, service));
    expect(failed.state).toBe("failed");
    expect(made[1]).toMatchObject({ kind: "failed", input: { code: "EmptyText" } });
  });
});

describe("CosyVoice's own options on the job path", () => {
  it.each(["seed", "languageHints", "instruction"])(
    "refuses %s naming it: no job provider takes it, and it is never dropped",
    (field) => {
      const value = field === "seed" ? 1 : field === "languageHints" ? ["zh"] : "Be warm.";
      expect(() => parseInput(JobRequestSchema, { text: "你好。", [field]: value })).toThrow(
        expect.objectContaining({ field }),
      );
    },
  );
});
