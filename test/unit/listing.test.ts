/** Reading jobs through the API: a key lists only its own jobs, newest first, a page at a time; subtitles by format. */
import { describe, expect, it } from "vitest";
import { ownerOfKey } from "../../lib/auth.js";
import { listJobs, subtitlesOf, viewJob } from "../../lib/jobs/listing.js";
import { JobRecords } from "../../lib/jobs/records.js";
import { MemoryBucket } from "../../lib/storage/bucket.js";
import { jobRecord } from "../helpers/job-record.js";

const storage = new MemoryBucket();
const jobs = new JobRecords(storage, "jobs/");
const signed = { signedUrl: (key: string) => `https://signed.example/${key}` };
const deps = { jobs, storage: signed, inputPrefix: "input/", outputPrefix: "output/" };
const alice = ownerOfKey("alice-key-1");
const bob = ownerOfKey("bob-key-22");

async function add(id: string, owner: string | undefined, minute: number, fields = {}): Promise<void> {
  const at = new Date(Date.UTC(2026, 11, 1, 0, minute)).toISOString();
  const job = jobRecord({ id, createdAt: at, updatedAt: at, ...(owner ? { owner } : {}), ...fields }, at);
  await jobs.index(job);
  await jobs.create(job);
}

describe("listing jobs", () => {
  it("lists a key's own jobs newest first, a page at a time, never another key's", async () => {
    await add("job-aaa1", alice, 1);
    await add("job-bbb1", bob, 2);
    await add("job-aaa2", alice, 3);
    await add("job-aaa3", alice, 4);
    const first = await listJobs(new URLSearchParams({ limit: "2" }), alice, deps);
    expect(first.jobs.map((j) => j.id)).toEqual(["job-aaa3", "job-aaa2"]);
    expect(first.next).toBeDefined();
    expect(first.outputPrefix).toMatch(/^output\/t-[0-9a-f]{16}\/$/);
    const second = await listJobs(new URLSearchParams({ limit: "2", after: first.next! }), alice, deps);
    expect(second.jobs.map((j) => j.id)).toEqual(["job-aaa1"]);
    expect((await listJobs(new URLSearchParams(), bob, deps)).jobs.map((j) => j.id)).toEqual(["job-bbb1"]);
  });

  it("refuses a bad page size or cursor, naming the parameter", async () => {
    await expect(listJobs(new URLSearchParams({ limit: "101" }), alice, deps)).rejects.toMatchObject({
      field: "limit",
    });
    await expect(listJobs(new URLSearchParams({ after: "../x" }), alice, deps)).rejects.toMatchObject({
      field: "after",
    });
    await expect(listJobs(new URLSearchParams({ input: "output/x.txt" }), alice, deps)).rejects.toMatchObject({
      field: "input",
    });
  });

  it("shows a done job's outputs with signed URLs, and a queued one's none", async () => {
    const done = jobRecord({
      id: "job-d",
      state: "done",
      output: { audioKey: "output/d.mp3", srtKey: "output/d.srt" },
      result: { size: 10, storedAt: "2026-12-01T00:00:00Z" },
    });
    const view = await viewJob(done, { jobs, storage: signed });
    expect(view).toMatchObject({
      outputs: { audio: { url: "https://signed.example/output/d.mp3" }, srt: {} },
      size: 10,
    });
    expect(await viewJob(jobRecord({ id: "job-q" }), { jobs, storage: signed })).not.toHaveProperty("outputs");
  });
});

describe("a job's subtitles through the API", () => {
  it("serves a written file by format, and explains why not otherwise", async () => {
    await storage.put("output/s.vtt", "WEBVTT\n");
    const job = jobRecord({
      id: "job-s",
      state: "done",
      output: { audioKey: "output/s.mp3", vttKey: "output/s.vtt", srtKey: "output/s.srt" },
      subtitles: { requested: ["vtt", "srt"], written: ["vtt"] },
    });
    const vtt = await subtitlesOf(job, null, storage);
    expect(vtt.body.toString()).toBe("WEBVTT\n");
    expect(vtt.contentType).toMatch(/vtt/);
    await expect(subtitlesOf(job, "srt", storage)).rejects.toMatchObject({ field: "format" });
    await expect(subtitlesOf({ ...job, state: "submitted" }, "vtt", storage)).rejects.toThrow(/once it is done/);
    await expect(subtitlesOf(job, "txt", storage)).rejects.toMatchObject({ field: "format" });
  });
});
