import { createHash } from "node:crypto";
import type OSS from "ali-oss";
import { describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { jobFor as findJob, ownOutput, settle as settleAll, writesTo } from "../helpers/jobs.js";
import { audioAfterLabel } from "../helpers/labels.js";
import { ownerStorage, useLocalCloud, userOss } from "../helpers/local-cloud.js";

const cloud = useLocalCloud({ engine: new FastEngine(), longText: { queueMs: 5, runMs: 5 } });
const host = useFunctionHost(cloud, { TTS_API_KEYS: "faults-key", RECONCILE_STALE_SECONDS: "0" });
const settle = () => settleAll(host, cloud());

const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");
const oss = () => userOss(cloud());

describe("faults", () => {
  it("finishes a job with one output object when job-record writes fail for a while (FC's async retries, then reconcile)", async () => {
    // Job-record writes fail three times in a row (one whole retried put): whichever step hits it, the retries converge.
    cloud().oss.faults.failNext("PutObject", {
      status: 503,
      code: "ServiceUnavailable",
      times: 3,
      key: (k) => k.startsWith("jobs/records/") && !k.includes("00000000"),
    });
    const audio = writesTo(cloud(), "output/crash.mp3");
    try {
      await oss().put("input/crash.txt", Buffer.from("存储在标记完成之前崩溃。"));
      await settle();
      await host.trigger("reconcile");
      await settle();
      const job = await findJob(host, "input/crash.txt");
      expect(job.state).toBe("done");
      const listed = (await ownerStorage(cloud()).list("output/crash")).objects.map((o) => o.key);
      // Each output once: the audio, the subtitles the default voice (siqi, with timestamps) makes, and the coverage map.
      expect(listed).toEqual(["output/crash.map.json", "output/crash.mp3", "output/crash.srt", "output/crash.vtt"]);
      expect(audio.count()).toBeGreaterThanOrEqual(1);
    } finally {
      audio.stop();
      cloud().oss.faults.clear();
    }
  });

  it("ignores a callback arriving after reconcile already finished the job", async () => {
    cloud().nls.longText.faults.delayCallbackMs = 300;
    try {
      await oss().put("input/late.txt", Buffer.from("回调来得太晚。"));
      // reconcile polls and finishes the job before the delayed callback lands
      await new Promise((r) => setTimeout(r, 100));
      await host.trigger("reconcile");
      await host.idle();
      expect((await findJob(host, "input/late.txt")).state).toBe("done");
      const done = await findJob(host, "input/late.txt");
      await settle();
      expect(await findJob(host, "input/late.txt")).toEqual(done);
    } finally {
      cloud().nls.longText.faults.delayCallbackMs = 0;
    }
  });

  it("store crashing between copying the audio and marking the job done: FC's async retry finishes it, the audio copied once", async () => {
    const audioKey = "output/between.mp3";
    const audio = writesTo(cloud(), audioKey);
    const refused: string[] = [];
    // The crash, placed exactly: once the audio object exists, the next job-record write fails (a whole retried put).
    const arm = (e: { op: string; key: string; status: number }): void => {
      if (
        e.key === audioKey &&
        e.status === 200 &&
        (e.op === "PutObject" || e.op === "CompleteMultipartUpload") &&
        refused.length === 0
      ) {
        refused.push("armed");
        cloud().oss.faults.failNext("PutObject", {
          status: 503,
          code: "ServiceUnavailable",
          times: 3,
          key: (k) => k.startsWith("jobs/records/"),
        });
      }
      if (e.key.startsWith("jobs/records/") && e.status === 503) refused.push(e.key);
    };
    cloud().oss.observers.add(arm);
    try {
      await oss().put("input/between.txt", Buffer.from("复制之后、标记完成之前崩溃。"), {
        meta: { voice: "siqi" } as unknown as OSS.UserMeta,
      });
      await settle();
      const job = await findJob(host, "input/between.txt");
      expect(refused).toHaveLength(4); // armed, then the three refused writes of the one crashed attempt
      expect(job.state).toBe("done");
      expect(audio.count()).toBe(1);
      expect((await ownerStorage(cloud()).list("output/between")).objects.map((o) => o.key)).toEqual([
        "output/between.map.json",
        "output/between.mp3",
        "output/between.srt",
        "output/between.vtt",
      ]);
      const original = Buffer.from(await (await fetch(job.task!.audioAddress!)).arrayBuffer());
      expect(md5(audioAfterLabel((await host.platform.clients.storage.get(audioKey))!))).toBe(md5(original));
    } finally {
      cloud().oss.observers.delete(arm);
      audio.stop();
      cloud().oss.faults.clear();
    }
  });

  it("an audio download cut short is not stored: FC's async retry downloads it again, and the object is the provider's", async () => {
    const audioKey = "output/cut.mp3";
    const audio = writesTo(cloud(), audioKey);
    cloud().nls.longText.faults.cutDownloads = 1;
    try {
      await oss().put("input/cut.txt", Buffer.from("下载到一半连接断了。".repeat(20)));
      await settle();
      const job = await findJob(host, "input/cut.txt");
      expect(cloud().nls.longText.faults.cutDownloads).toBe(0);
      expect(job.state).toBe("done");
      // Only the whole copy was written: the cut one never became an object.
      expect(audio.count()).toBe(1);
      const original = Buffer.from(await (await fetch(job.task!.audioAddress!)).arrayBuffer());
      const stored = audioAfterLabel((await host.platform.clients.storage.get(audioKey))!);
      expect(stored.length).toBe(original.length);
      expect(md5(stored)).toBe(md5(original));
    } finally {
      cloud().nls.longText.faults.cutDownloads = 0;
      audio.stop();
    }
  });

  it("an audio upload failing mid-multipart is aborted, FC's async retry copies it again, and the object's MD5 is the provider's", async () => {
    const audioKey = "output/multipart.wav";
    const statuses: string[] = [];
    const watch = (e: { op: string; key: string; status: number }): void =>
      void (e.key === audioKey && statuses.push(`${e.op}:${e.status}`));
    cloud().oss.observers.add(watch);
    // Part 2 of the first copy fails every one of its attempts, so that copy gives up and the invocation fails.
    cloud().oss.faults.failNext("UploadPart", {
      part: 2,
      status: 503,
      code: "ServiceUnavailable",
      times: 4,
      key: (k) => k === audioKey,
    });
    try {
      const text = Array.from({ length: 800 }, (_, i) => `第${i}句话。`).join(""); // ~5,400 characters: ~10 MB of 16 kHz WAV, 3 parts
      await oss().put("input/multipart.txt", Buffer.from(text), { meta: { format: "wav" } as unknown as OSS.UserMeta });
      await settle();
      const job = await findJob(host, "input/multipart.txt");
      expect(job.state).toBe("done");
      expect(statuses).toContain("AbortMultipartUpload:204");
      expect(statuses.filter((s) => s === "CompleteMultipartUpload:200")).toHaveLength(1);
      expect(statuses.indexOf("CompleteMultipartUpload:200")).toBeGreaterThan(
        statuses.indexOf("AbortMultipartUpload:204"),
      );
      expect(cloud().oss.files.openUploads()).toEqual([]);
      const original = Buffer.from(await (await fetch(job.task!.audioAddress!)).arrayBuffer());
      expect(original.length).toBeGreaterThan(8 * 1024 * 1024);
      // The provider's samples, under the header that now carries the label.
      expect(md5(audioAfterLabel((await host.platform.clients.storage.get(audioKey))!))).toBe(
        md5(audioAfterLabel(original)),
      );
    } finally {
      cloud().oss.observers.delete(watch);
      cloud().oss.faults.clear();
    }
  });

  describe("callbacks reordered", () => {
    it("a task's late failure callback, delivered after its replacement's success, changes nothing", async () => {
      const longText = cloud().nls.longText;
      longText.faults.failNext.push({ code: 51020001, message: "TTS:TtsServerError" });
      longText.faults.holdCallbacks = 2;
      const audio = writesTo(cloud(), "output/reordered.mp3");
      try {
        await oss().put("input/reordered.txt", Buffer.from("第一个任务失败，第二个成功。"));
        const callbacks = longText.stats.callbacks;
        await settle();
        // Whoever learnt of the failure first (the look after submission, or reconcile) resubmitted the job.
        await host.trigger("reconcile");
        await settle();
        // Both callbacks arrived, the replacement's success first, then the failed task's.
        expect(longText.stats.callbacks - callbacks).toBe(2);
        const job = await findJob(host, "input/reordered.txt");
        expect([job.state, job.retries, job.failure]).toEqual(["done", 1, undefined]);
        expect(audio.count()).toBe(1);
      } finally {
        longText.faults.holdCallbacks = 0;
        audio.stop();
      }
    });

    it("parts of a long job finishing last-first are still stitched in text order", async () => {
      const longText = cloud().nls.longText;
      // About 237,000 characters: 3 parts (100,000 characters each at most), all in flight at once; their callbacks
      // arrive in reverse.
      const text = Array.from({ length: 30_000 }, (_, i) => `第${i}句。`).join("");
      longText.faults.holdCallbacks = 3;
      try {
        const res = await fetch(`${host.url}/v1/jobs`, {
          method: "POST",
          headers: { authorization: "Bearer faults-key", "content-type": "application/json" },
          body: JSON.stringify({
            text,
            voice: "siqi",
            format: "mp3",
            sampleRate: 16000,
            output: { key: ownOutput("faults-key", "reversed.mp3") },
          }),
        });
        expect(res.status).toBe(202);
        const { id } = (await res.json()) as { id: string };
        await settle();
        const parent = (await host.platform.jobs().jobs.get(id))!;
        expect(parent.state).toBe("done");
        expect(parent.parts).toHaveLength(3);
        const parts = await Promise.all(
          parent.parts!.map(async (p) => (await host.platform.jobs().jobs.get(p.jobId))!),
        );
        // The fault took effect: the last part was stored first, the first part last.
        const stored = parts.map((p) => Date.parse(p.result!.storedAt));
        expect(stored[2]).toBeLessThan(stored[1]!);
        expect(stored[1]).toBeLessThan(stored[0]!);
        const srt = (await host.platform.clients.storage.get(ownOutput("faults-key", "reversed.srt")))!.toString(
          "utf8",
        );
        const numbers = [...srt.matchAll(/^第(\d+)句。$/gm)].map((m) => Number(m[1]));
        expect(numbers.length).toBe(30_000);
        expect(numbers.every((n, i) => n === i)).toBe(true);
      } finally {
        longText.faults.holdCallbacks = 0;
      }
    }, 60_000);
  });
});
