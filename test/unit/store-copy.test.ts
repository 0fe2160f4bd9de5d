/**
 * The store step's copy: the provider's audio streamed from its URL into the bucket (the in-memory store), subtitles
 * written beside it, the job marked done once; and each way the download can go wrong, failed or retried as it should.
 * The provider's audio host is a loopback server whose answers each test chooses.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLabel } from "../../lib/audio/label-container.js";
import { UpstreamError } from "../../lib/errors.js";
import { JobRecords } from "../../lib/jobs/records.js";
import { type Job, JobOptionsSchema, transition } from "../../lib/jobs/schema.js";
import type { JobService } from "../../lib/jobs/service.js";
import { storeOutputs } from "../../lib/jobs/store-audio.js";
import { createLogger } from "../../lib/log.js";
import { MemoryBucket } from "../../lib/storage/bucket.js";
import { jobRecord } from "../helpers/job-record.js";

const AUDIO = Buffer.alloc(300_000, 7);
let server: Server;
let host = "";
let requests = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests++;
    if (req.url === "/audio.mp3") return void res.writeHead(200, { "content-length": AUDIO.length }).end(AUDIO);
    if (req.url === "/gone.mp3") return void res.writeHead(404).end();
    if (req.url === "/moved.mp3") return void res.writeHead(302, { location: "http://evil.example/" }).end();
    if (req.url === "/busy.mp3") return void res.writeHead(503).end();
    // Announces more than it sends: a download cut short, which must never be stored as the whole audio.
    if (req.url === "/short.mp3") {
      res.writeHead(200, { "content-length": AUDIO.length });
      res.write(AUDIO.subarray(0, 1000));
      return void setImmediate(() => res.destroy());
    }
    res.writeHead(500).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const NOW = new Date("2026-01-02T00:00:00Z");

function world() {
  const storage = new MemoryBucket();
  const jobs = new JobRecords(storage);
  const ended: string[] = [];
  const failed: Array<{ code: string; reason: string }> = [];
  const service = {
    providerOf: () => ({ audio: "url", retention: { says: "NLS keeps audio 7 days" } }),
    async fail(job: Job, code: string, reason: string) {
      failed.push({ code, reason });
      const out = transition(job, "failed", { error: { code, message: reason } } as Partial<Job>, NOW)!;
      await jobs.put(out);
      return out;
    },
    async ended(job: Job) {
      ended.push(job.id);
    },
  } as unknown as JobService;
  const deps = { jobs, service, storage, log: createLogger({ write: () => undefined }), audioHosts: [host] };
  return { storage, jobs, ended, failed, deps };
}

async function synthesizedJob(jobs: JobRecords, path: string): Promise<Job> {
  const job = jobRecord({
    id: `job-${path.replace(/\W/g, "")}`,
    state: "synthesized",
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
    characters: 10,
    options: JobOptionsSchema.parse({ voice: "siqi", format: "mp3" }),
    output: { audioKey: "output/a.mp3", srtKey: "output/a.srt", vttKey: "output/a.vtt" },
    task: {
      id: "t1",
      submittedAt: NOW.toISOString(),
      audioAddress: `http://${host}${path}`,
      sentences: [{ text: "你好。", begin_time: 0, end_time: 800 }],
    },
  });
  await jobs.put(job);
  return job;
}

describe("the store step's copy from the provider's URL", () => {
  it("streams the audio into the bucket in parts, writes both subtitles and marks the job done once", async () => {
    const w = world();
    const job = await synthesizedJob(w.jobs, "/audio.mp3");
    expect(await storeOutputs(job.id, { ...w.deps, partSize: 100 * 1024 })).toBe("done");
    // The provider's bytes after the AI-generated-content label (an ID3v2 tag naming the job).
    const audio = (await w.storage.get("output/a.mp3"))!;
    expect(audio.subarray(audio.length - AUDIO.length).equals(AUDIO)).toBe(true);
    expect(readLabel(audio)?.aigc).toMatchObject({ Label: "1", ProduceID: job.id });
    expect(readLabel(audio)?.synthesis).toEqual({ provider: "nls", voice: "siqi" });
    expect((await w.storage.get("output/a.srt"))?.toString()).toMatch(/00:00:00,000 --> 00:00:00,800\n你好。/);
    expect((await w.storage.get("output/a.vtt"))?.toString()).toMatch(/^WEBVTT/);
    expect(await w.jobs.get(job.id)).toMatchObject({ state: "done", result: { size: audio.length } });
    // Run again, as a duplicate delivery would: the job has ended, nothing is fetched or written again.
    const before = requests;
    expect(await storeOutputs(job.id, w.deps)).toBe("skipped");
    expect(requests).toBe(before);
    expect(w.ended).toEqual([job.id]);
  });

  it("does not download again when a crashed attempt already holds the whole copy", async () => {
    const w = world();
    const job = await synthesizedJob(w.jobs, "/audio.mp3");
    await w.storage.put("output/a.mp3", AUDIO, { meta: { jobid: job.id, sourcebytes: String(AUDIO.length) } });
    const before = requests;
    expect(await storeOutputs(job.id, w.deps)).toBe("done");
    expect(requests).toBe(before);
    expect((await w.jobs.get(job.id))?.state).toBe("done");
  });

  it("fails the job with AudioExpired, naming the provider's retention, when the audio is gone", async () => {
    const w = world();
    const job = await synthesizedJob(w.jobs, "/gone.mp3");
    expect(await storeOutputs(job.id, w.deps)).toBe("done");
    expect(w.failed).toEqual([{ code: "AudioExpired", reason: expect.stringMatching(/HTTP 404.*7 days/) }]);
    expect(await w.storage.head("output/a.mp3")).toBeUndefined();
  });

  it("does not follow a redirect (fails fast), and has a server error retried: neither leaves an object", async () => {
    for (const path of ["/moved.mp3", "/busy.mp3"]) {
      const w = world();
      const job = await synthesizedJob(w.jobs, path);
      const error = await storeOutputs(job.id, w.deps).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as UpstreamError).retryable).toBe(path === "/busy.mp3");
      expect((error as Error).message).toMatch(path === "/moved.mp3" ? /redirect: not followed/ : /HTTP 503/);
      expect(await w.storage.head("output/a.mp3")).toBeUndefined();
      expect((await w.jobs.get(job.id))?.state).toBe("synthesized");
    }
  });

  it("never stores a download cut short as the audio", async () => {
    const w = world();
    const job = await synthesizedJob(w.jobs, "/short.mp3");
    await expect(storeOutputs(job.id, w.deps)).rejects.toThrow();
    expect(await w.storage.head("output/a.mp3")).toBeUndefined();
    expect((await w.jobs.get(job.id))?.state).toBe("synthesized");
  });

  it("refuses an address off the allowed hosts without fetching it", async () => {
    const w = world();
    const job = await synthesizedJob(w.jobs, "/audio.mp3");
    const before = requests;
    expect(await storeOutputs(job.id, { ...w.deps, audioHosts: ["*.aliyuncs.com"] })).toBe("done");
    expect(w.failed[0]).toMatchObject({ code: "UntrustedAudioUrl", reason: expect.stringContaining(host) });
    expect(requests).toBe(before);
  });
});
