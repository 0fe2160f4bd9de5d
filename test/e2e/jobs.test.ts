import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type OSS from "ali-oss";
import { parseFile } from "music-metadata";
import { describe, expect, it } from "vitest";
import { mp3Frames } from "../../lib/audio/mp3.js";
import { iceProvider, nlsProvider } from "../../lib/jobs/providers.js";
import { JobService } from "../../lib/jobs/service.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { writesTo as countWrites, jobFor as findJob, jobsFor, settle as settleAll } from "../helpers/jobs.js";
import { useLocalCloud, userOss } from "../helpers/local-cloud.js";

const cloud = useLocalCloud({ longText: { queueMs: 10, runMs: 10 } });
const KEY = "jobs-test-key";
const host = useFunctionHost(cloud, { TTS_API_KEYS: KEY, RECONCILE_STALE_SECONDS: "0" });
const settle = () => settleAll(host, cloud());
const run = promisify(execFile);
const jobFor = (key: string) => findJob(host, key);
const writesTo = (key: string) => countWrites(cloud(), key);

/** The user's own client: ali-oss, as anyone uploading a chapter would use it. */
function oss(): OSS {
  return userOss(cloud(), { authorizationV4: true });
}

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${host.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json", ...(init.headers ?? {}) },
  });

describe("long-text jobs on the local stack", () => {
  it("turns an uploaded .txt into audio, .srt and .vtt beside it, and marks the job done", async () => {
    const client = oss();
    const put = await client.put("input/book/ch1.txt", Buffer.from("第一章。春天来了，花开了。Spring has come."), {
      meta: { voice: "siqi" } as unknown as OSS.UserMeta,
    });
    await settle();
    const job = await jobFor("input/book/ch1.txt");
    expect(job).toMatchObject({
      state: "done",
      options: { voice: "siqi", format: "mp3" },
      output: { audioKey: "output/book/ch1.mp3", srtKey: "output/book/ch1.srt", vttKey: "output/book/ch1.vtt" },
    });
    const audio = (await client.get("output/book/ch1.mp3")).content as Buffer;
    expect(mp3Frames(audio).length).toBeGreaterThan(20);
    const srt = (await client.get("output/book/ch1.srt")).content.toString();
    expect(srt).toMatch(/^1\n00:00:00,[0-2]\d\d --> 00:00:0\d,\d{3}\n第一章。\n/);
    expect((await client.get("output/book/ch1.vtt")).content.toString()).toMatch(/^WEBVTT\n\n00:00:00\.[0-2]\d\d --> /);
    // The coverage map: every sentence of the text placed on the audio, beside it.
    expect(job.coverage).toMatchObject({ heard: 3, total: 3, missing: [], mapKey: "output/book/ch1.map.json" });
    const map = JSON.parse((await client.get("output/book/ch1.map.json")).content.toString()) as {
      sentences: Array<{ text: string; heard: boolean; beginMs: number }>;
    };
    expect(map.sentences.map((e) => e.text)).toEqual(["第一章。", "春天来了，花开了。", "Spring has come."]);
    expect(map.sentences.every((e, i) => e.heard && (i === 0 || e.beginMs > map.sentences[i - 1]!.beginMs))).toBe(true);
    // The input object is never changed.
    expect((await client.head("input/book/ch1.txt")).res.headers).toMatchObject({
      etag: (put.res.headers as Record<string, string>).etag,
    });
  });

  it("labels every output as AI-generated in its container, read back by the API, an independent reader and the CLI", async () => {
    const client = oss();
    await client.put("input/label/mp3.txt", Buffer.from("标签测试。This audio is labelled."));
    await client.put("input/label/wav.txt", Buffer.from("标签测试。"), {
      meta: { format: "wav" } as unknown as OSS.UserMeta,
    });
    await client.put("input/label/pcm.txt", Buffer.from("标签测试。"), {
      meta: { format: "pcm" } as unknown as OSS.UserMeta,
    });
    await settle();
    const dir = await mkdtemp(join(tmpdir(), "labels-"));
    try {
      for (const [format, from] of [
        ["mp3", "ID3v2.4 TXXX:AIGC"],
        ["wav", "RIFF LIST/INFO ICMT"],
        ["pcm", "sidecar"],
      ] as const) {
        const job = await jobFor(`input/label/${format}.txt`);
        expect(job.state, format).toBe("done");
        // The API reads the label back from the stored object itself (or, for raw PCM, its sidecar).
        const res = await fetch(`${host.url}/v1/jobs/${job.id}/label`, { headers: { authorization: `Bearer ${KEY}` } });
        expect(res.status, format).toBe(200);
        const body = (await res.json()) as { from: string; label: { aigc: { ProduceID: string } } };
        expect(body.from).toBe(from);
        expect(body.label.aigc.ProduceID).toBe(job.id);
        // The file as a user downloads it, checked offline.
        const file = join(dir, `out.${format}`);
        await writeFile(file, (await client.get(job.output.audioKey)).content as Buffer);
        if (format === "pcm")
          await writeFile(
            join(dir, "out.aigc.json"),
            (await client.get("output/label/pcm.aigc.json")).content as Buffer,
          );
        const cli = await run(process.execPath, ["--import", "tsx", "scripts/verify-label.ts", file]);
        expect(JSON.parse(cli.stdout)).toMatchObject({
          aigc: { Label: "1", ProduceID: job.id },
          synthesis: { provider: "nls" },
        });
        if (format === "mp3") {
          const meta = await parseFile(file);
          const tag = meta.native["ID3v2.4"]?.find((t) => t.id === "TXXX:AIGC");
          expect(JSON.parse(String(tag?.value))).toMatchObject({ Label: "1", ProduceID: job.id });
        }
      }
      // A file without a label is told so, exit status 1.
      await writeFile(join(dir, "plain.mp3"), Buffer.from([0xff, 0xf3, 0x40, 0xc4, 0, 0]));
      const none = await run(process.execPath, [
        "--import",
        "tsx",
        "scripts/verify-label.ts",
        join(dir, "plain.mp3"),
      ]).catch((e: { code: number; stderr: string }) => e);
      expect(none).toMatchObject({ code: 1, stderr: expect.stringMatching(/carries no AIGC label/) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("stores one output and marks one done when the same callback arrives 20 times at once", async () => {
    cloud().nls.longText.faults.duplicateCallbacks = 19;
    const writes = writesTo("output/dup.mp3");
    try {
      await oss().put("input/dup.txt", Buffer.from("重复回调测试。"));
      await settle();
      expect(cloud().nls.longText.stats.callbacks).toBeGreaterThanOrEqual(20);
      expect((await jobFor("input/dup.txt")).state).toBe("done");
      expect(writes.count()).toBe(1);
    } finally {
      cloud().nls.longText.faults.duplicateCallbacks = 0;
      writes.stop();
    }
  });

  it("finishes the job through reconcile when the callback is lost", async () => {
    cloud().nls.longText.faults.dropCallbacks = 1;
    await oss().put("input/lost.txt", Buffer.from("回调丢失了。"));
    await settle();
    expect((await jobFor("input/lost.txt")).state).toBe("submitted");
    await host.trigger("reconcile");
    await settle();
    expect((await jobFor("input/lost.txt")).state).toBe("done");
    expect((await oss().head("output/lost.mp3")).status).toBe(200);
  });

  it("converges on one output and one done when store runs twice at once, and skips a finished job", async () => {
    cloud().nls.longText.faults.dropCallbacks = 1;
    await oss().put("input/twice.txt", Buffer.from("存储运行两次。"));
    await settle();
    const rt = host.platform.jobs();
    const job = await jobFor("input/twice.txt");
    await rt.service.pollTask(job, { force: true });
    const results = await Promise.all([
      host.invoke("store", { jobId: job.id }),
      host.invoke("store", { jobId: job.id }),
    ]);
    await settle();
    expect(results).toContainEqual({ jobId: job.id, result: "done" });
    const done = await jobFor("input/twice.txt");
    expect(done.state).toBe("done");
    const audio = (await oss().get("output/twice.mp3")).content as Buffer;
    expect(done.result?.size).toBe(audio.length);
    expect(await host.invoke("store", { jobId: job.id })).toEqual({ jobId: job.id, result: "skipped" });
  });

  it("takes per-file options from a sibling .json", async () => {
    await oss().put(
      "input/opts/ch2.json",
      Buffer.from(JSON.stringify({ voice: "aixia", format: "wav", sampleRate: 8000, subtitles: ["srt"] })),
    );
    await oss().put("input/opts/ch2.txt", Buffer.from("用旁边的配置文件。"));
    await settle();
    const job = await jobFor("input/opts/ch2.txt");
    expect(job).toMatchObject({
      state: "done",
      options: { voice: "aixia", format: "wav", sampleRate: 8000, subtitles: ["srt"] },
      output: { audioKey: "output/opts/ch2.wav", srtKey: "output/opts/ch2.srt" },
    });
    expect(job.output.vttKey).toBeUndefined();
  });

  it("fails a job NLS has not finished within the 3 hours seed 003 promises", async () => {
    cloud().nls.longText.faults.dropCallbacks = 1;
    await oss().put("input/slow.txt", Buffer.from("三个小时还没有完成。"));
    await settle();
    const rt = host.platform.jobs();
    const later = new JobService({
      jobs: rt.jobs,
      storage: rt.clients.storage,
      providers: {
        nls: nlsProvider(rt.clients.longText),
        ice: iceProvider(rt.clients.ice, rt.clients.storage.bucket),
        minimax: undefined,
      },
      invoker: host.platform.invoker,
      log: rt.log,
      callbackSecret: rt.config.CALLBACK_SECRET!,
      outputPrefix: rt.config.OSS_OUTPUT_PREFIX,
      now: () => new Date(Date.now() + 3 * 3600_000 + 60_000),
    });
    const counts = await later.reconcile();
    expect(counts.failed).toBeGreaterThanOrEqual(1);
    expect((await jobFor("input/slow.txt")).failure).toMatchObject({
      code: "Timeout",
      reason: expect.stringMatching(/within the 3 hours NLS promises/),
    });
  });

  it("answers a forged callback with 401 and changes nothing", async () => {
    cloud().nls.longText.faults.dropCallbacks = 1;
    await oss().put("input/forged.txt", Buffer.from("伪造的回调。"));
    await settle();
    const before = await jobFor("input/forged.txt");
    const res = await fetch(`${host.url}/callbacks/nls/${before.id}?sig=not-the-signature`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        data: { task_id: before.task?.id, audio_address: "http://evil.example/a.mp3" },
        status: 20000000,
        error_code: 20000000,
        error_message: "SUCCESS",
      }),
    });
    expect(res.status).toBe(401);
    await settle();
    expect(await jobFor("input/forged.txt")).toEqual(before);
  });

  it("fails the job with the seed's reason when NLS fails the task", async () => {
    cloud().nls.longText.faults.failNext.push({
      code: 41020001,
      message: "TTS:TtsClientError:[tts]Engine return error code: 418",
    });
    await oss().put("input/fails.txt", Buffer.from("这个任务会失败。"));
    await settle();
    const job = await jobFor("input/fails.txt");
    expect(job.state).toBe("failed");
    expect(job.failure).toMatchObject({ code: "41020001", reason: expect.stringMatching(/418.*Unsupported voice/) });
  });

  it("fails GBK, empty and over-long files with reasons a person can act on", async () => {
    const gbk = Buffer.from([0xc4, 0xe3, 0xba, 0xc3]); // 你好 in GBK
    await oss().put("input/gbk.txt", gbk);
    await oss().put("input/empty.txt", Buffer.alloc(0));
    // Longer than a provider allows is fine (split into parts); larger than the input cap is not.
    await oss().put("input/long.txt", Buffer.alloc(2 * 1024 * 1024 + 1, 0x61));
    await settle();
    expect((await jobFor("input/gbk.txt")).failure).toMatchObject({
      code: "InvalidEncoding",
      reason: expect.stringMatching(/not valid UTF-8: bad byte 0xc4 at byte offset 0/),
    });
    expect((await jobFor("input/empty.txt")).failure).toMatchObject({ reason: expect.stringMatching(/is empty/) });
    expect((await jobFor("input/long.txt")).failure).toMatchObject({
      code: "TextTooLong",
      reason: expect.stringMatching(/is 2097153 bytes; at most 2097152 are read/),
    });
  });

  it("answers a failed upload beside where its audio would have gone, and clears that answer when a fix succeeds", async () => {
    // The uploader never learns the job id (OSS made the job), so the reason must be found from the input's name.
    await oss().put("input/answer/bad.txt", Buffer.from([0xc4, 0xe3, 0xba, 0xc3])); // GBK
    await settle();
    const job = await jobFor("input/answer/bad.txt");
    const answer = JSON.parse(((await oss().get("output/answer/bad.error.json")).content as Buffer).toString("utf8"));
    expect(answer).toEqual({
      jobId: job.id,
      state: "failed",
      input: { key: "input/answer/bad.txt", etag: expect.any(String) },
      error: { code: "InvalidEncoding", reason: expect.stringMatching(/not valid UTF-8/), at: expect.any(String) },
      status: `/v1/jobs/${job.id}`,
    });
    expect(
      (await oss().list({ prefix: "output/answer/bad.", "max-keys": 100 }, {})).objects?.map((o) => o.name),
    ).toEqual(["output/answer/bad.error.json"]);
    // The same name uploaded again as UTF-8 makes a new job; when it is done the stale answer is gone.
    await oss().put("input/answer/bad.txt", Buffer.from("你好。"));
    await settle();
    const names = ((await oss().list({ prefix: "output/answer/bad.", "max-keys": 100 }, {})).objects ?? [])
      .map((o) => o.name)
      .sort();
    expect(names).toEqual([
      "output/answer/bad.map.json",
      "output/answer/bad.mp3",
      "output/answer/bad.srt",
      "output/answer/bad.vtt",
    ]);
  });

  it("does not synthesize a re-delivered upload event twice", async () => {
    const before = cloud().nls.longText.stats.submitted;
    await oss().put("input/once.txt", Buffer.from("只合成一次。"));
    await settle();
    const meta = cloud().oss.files.head(cloud().bucket, "input/once.txt")!;
    const event = {
      events: [
        {
          eventName: "ObjectCreated:PutObject",
          eventSource: "acs:oss",
          oss: {
            bucket: { name: cloud().bucket },
            object: { key: "input/once.txt", eTag: meta.etag.replace(/"/g, ""), size: meta.size },
          },
        },
      ],
    };
    await host.invoke("submit", event);
    await settle();
    expect(cloud().nls.longText.stats.submitted - before).toBe(1);
  });

  it("serves the job API: 202 on POST, the same job for the same Idempotency-Key, outputs with signed URLs when done", async () => {
    const body = JSON.stringify({
      text: "通过接口提交的长文本任务。",
      voice: "siqi",
      format: "wav",
      sampleRate: 8000,
      subtitles: ["vtt"],
    });
    const created = await api("/v1/jobs", { method: "POST", body, headers: { "idempotency-key": "order-42" } });
    expect(created.status).toBe(202);
    const job = (await created.json()) as { id: string; state: string };
    const replay = await api("/v1/jobs", { method: "POST", body, headers: { "idempotency-key": "order-42" } });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(((await replay.json()) as { id: string }).id).toBe(job.id);
    await settle();
    const view = (await (await api(`/v1/jobs/${job.id}`)).json()) as {
      state: string;
      outputs: { audio: { url: string }; vtt: { key: string } };
    };
    expect(view.state).toBe("done");
    expect(view.outputs.vtt.key).toMatch(/\.vtt$/);
    const audio = await fetch(view.outputs.audio.url);
    expect(audio.status).toBe(200);
    expect(
      Buffer.from(await audio.arrayBuffer())
        .subarray(0, 4)
        .toString(),
    ).toBe("RIFF");
    expect((await api("/v1/jobs/nonexistent-job")).status).toBe(404);
    expect((await fetch(`${host.url}/v1/jobs/${job.id}`)).status).toBe(401);
  });

  it("routes POST /v1/speech by length: short text gets audio, long text a 202 job", async () => {
    const short = await api("/v1/speech", {
      method: "POST",
      body: JSON.stringify({ text: "短文本直接返回音频。", format: "mp3" }),
    });
    expect(short.status).toBe(200);
    expect(short.headers.get("content-type")).toBe("audio/mpeg");
    expect(mp3Frames(Buffer.from(await short.arrayBuffer())).length).toBeGreaterThan(5);
    const long = await api("/v1/speech", {
      method: "POST",
      body: JSON.stringify({ text: "长文本。".repeat(100), format: "mp3" }),
    });
    expect(long.status).toBe(202);
    await settle();
  });

  it("refuses bad job requests with a 4xx naming the field", async () => {
    const bad = async (body: unknown) =>
      (await (await api("/v1/jobs", { method: "POST", body: JSON.stringify(body) })).json()) as {
        error: { field: string };
      };
    expect((await bad({ text: "x", sampleRate: 24000 })).error.field).toBe("sampleRate");
    expect((await bad({ text: "x", output: { key: "input/evil.mp3" } })).error.field).toBe("output.key");
    expect((await bad({ text: "x", output: { key: "output/../jobs/x" } })).error.field).toBe("output.key");
    expect((await bad({ text: "x", voice: "nobody" })).error.field).toBe("voice");
    expect((await bad({ text: "x", input: { key: "input/book/ch1.txt" } })).error.field).toBe("text");
  });

  it("gives an upload with no options subtitles, and says why when a job gets none", async () => {
    const client = oss();
    await client.put("input/subs/plain.txt", Buffer.from("没有任何选项的上传。"));
    await client.put("input/subs/xiaoyun.txt", Buffer.from("选了没有时间戳的声音。"), {
      meta: { voice: "xiaoyun" } as unknown as OSS.UserMeta,
    });
    await settle();
    const plain = await jobFor("input/subs/plain.txt");
    expect(plain).toMatchObject({
      state: "done",
      options: { voice: "siqi" },
      subtitles: { requested: ["srt", "vtt"], written: ["srt", "vtt"] },
    });
    expect((await client.get("output/subs/plain.srt")).content.toString()).toMatch(/^1\n00:00:00,[0-2]\d\d --> /);
    const xiaoyun = await jobFor("input/subs/xiaoyun.txt");
    expect(xiaoyun).toMatchObject({
      state: "done",
      subtitles: { requested: [], written: [], reason: expect.stringMatching(/xiaoyun has no timestamps/) },
    });
    expect(xiaoyun.output).toEqual({ audioKey: "output/subs/xiaoyun.mp3" });
    const view = (await (await api(`/v1/jobs/${xiaoyun.id}`)).json()) as {
      subtitles?: { reason?: string };
      outputs: Record<string, unknown>;
    };
    expect(view.subtitles?.reason).toMatch(/no timestamps/);
    expect(Object.keys(view.outputs)).toEqual(["audio"]);
  });

  it("refuses subtitles for a MiniMax job up front, naming the field, instead of writing empty files", async () => {
    const res = await api("/v1/jobs", {
      method: "POST",
      body: JSON.stringify({ provider: "minimax", voice: "male-qn-qingse", text: "字幕。", subtitles: ["srt"] }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe("subtitles");
  });

  it("records which options an upload used; a .json uploaded after its text makes the text again with them", async () => {
    const client = oss();
    await client.put("input/order/first.json", Buffer.from(JSON.stringify({ voice: "sicheng" })));
    await client.put("input/order/first.txt", Buffer.from("先上传选项，再上传文本。"));
    await client.put("input/order/late.txt", Buffer.from("先上传文本，选项来晚了。"));
    await settle();
    await client.put("input/order/late.json", Buffer.from(JSON.stringify({ voice: "sicheng", format: "wav" })));
    await settle();
    const first = await jobsFor(host, "input/order/first.txt");
    // The .json that came first was read when the text arrived; its own upload event then found nothing to change.
    expect(first).toHaveLength(1);
    expect(first[0]!.options.voice).toBe("sicheng");
    expect(first[0]!.source).toMatchObject({
      optionsFrom: expect.stringMatching(/^input\/order\/first\.json \(ETag [0-9A-F]+\)$/),
    });
    const [late, again] = await jobsFor(host, "input/order/late.txt");
    expect(late!.options.voice).toBe("siqi");
    expect(late!.source).toMatchObject({
      optionsFrom: expect.stringMatching(/^defaults \(no input\/order\/late\.json/),
    });
    expect(again).toMatchObject({ state: "done", options: { voice: "sicheng", format: "wav" } });
    expect(again!.source).toMatchObject({ optionsFrom: expect.stringMatching(/^input\/order\/late\.json/) });
    expect((await client.head("output/order/late.wav")).status).toBe(200);
    const view = (await (await api(`/v1/jobs/${late!.id}`)).json()) as { optionsFrom?: string };
    expect(view.optionsFrom).toMatch(/defaults/);
  });
});
