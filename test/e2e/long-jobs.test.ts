import type OSS from "ali-oss";
import { describe, expect, it } from "vitest";
import { FAST_SENTENCE_PAUSE_MS, FastEngine } from "../../infra/local/audio/fast-engine.js";
import { mp3DurationMs } from "../../lib/audio/mp3.js";
import { wavDataChunk } from "../../lib/audio/wav.js";
import type { Job } from "../../lib/jobs/schema.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { ownOutput, settle as settleAll } from "../helpers/jobs.js";
import { useLocalCloud, userOss } from "../helpers/local-cloud.js";

// Fast mode: audio of the right length for the text, so a 250,000-character book takes seconds, not minutes.
const cloud = useLocalCloud({ engine: new FastEngine(), longText: { queueMs: 5, runMs: 5 } });
const KEY = "long-jobs-key";
const host = useFunctionHost(cloud, { TTS_API_KEYS: KEY, JOBS_PART_CONCURRENCY: "2" });
const settle = () => settleAll(host, cloud());

function oss(): OSS {
  return userOss(cloud());
}

const job = async (id: string): Promise<Job> => (await host.platform.jobs().jobs.get(id))!;

function srtTimes(srt: string): Array<[number, number]> {
  const ms = (t: string): number => {
    const [h, m, rest] = t.split(":");
    const [s, f] = rest!.split(",");
    return ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000 + Number(f);
  };
  return [...srt.matchAll(/(\d{2}:\d{2}:\d{2},\d{3}) --> (\d{2}:\d{2}:\d{2},\d{3})/g)].map((m) => [
    ms(m[1]!),
    ms(m[2]!),
  ]);
}

type Progress = {
  parts: { done: number; total: number };
  characters: { total: number; synthesized: number; billed: number };
  estimate?: { basis: string; secondsLeft: number; finishesAt: string };
};

async function post(body: unknown): Promise<{ id: string; progress: Progress }> {
  const res = await fetch(`${host.url}/v1/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(202);
  return (await res.json()) as { id: string; progress: Progress };
}

async function progressOf(id: string): Promise<Progress> {
  const res = await fetch(`${host.url}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${KEY}` } });
  return ((await res.json()) as { progress: Progress }).progress;
}

describe("jobs longer than the provider allows", () => {
  it("turns 250,000 characters into one MP3 lasting the sum of its parts, with cues monotonic to the end", async () => {
    const sentence = "这是一本很长的书里的一句话。";
    const text = sentence.repeat(Math.ceil(250_000 / sentence.length)).slice(0, 250_000);
    const { id, progress } = await post({
      text,
      voice: "siqi",
      format: "mp3",
      sampleRate: 16000,
      output: { key: ownOutput(KEY, "book/whole.mp3") },
    });
    // The answer to the POST already says how much there is and when it should be done.
    expect(progress.parts).toEqual({ done: 0, total: 3 });
    expect(progress.characters).toMatchObject({ total: 250_000, synthesized: 0 });
    expect(progress.estimate?.basis).toBe("nominal");
    expect(progress.estimate?.secondsLeft).toBeGreaterThan(60);
    await settle();
    const finished = await progressOf(id);
    expect(finished.parts).toEqual({ done: 3, total: 3 });
    expect(finished.characters).toEqual({ total: 250_000, synthesized: 250_000, billed: 250_000 });
    expect(finished.estimate).toBeUndefined();
    const parent = await job(id);
    expect(parent.state).toBe("done");
    expect(parent.parts).toHaveLength(3);
    const parts = await Promise.all(parent.parts!.map((p) => job(p.jobId)));
    expect(parts.every((p) => p.state === "done" && p.characters <= 100_000)).toBe(true);
    const partDurations = await Promise.all(
      parts.map(async (p) => mp3DurationMs((await oss().get(p.output.audioKey)).content as Buffer)),
    );
    const whole = mp3DurationMs((await oss().get(ownOutput(KEY, "book/whole.mp3"))).content as Buffer);
    const sum = partDurations.reduce((a, b) => a + b, 0);
    expect(Math.abs(whole - sum)).toBeLessThanOrEqual(36 * (parts.length - 1));
    const cues = srtTimes((await oss().get(ownOutput(KEY, "book/whole.srt"))).content.toString());
    expect(cues.length).toBeGreaterThan(1000);
    expect(cues.every(([b, e], i) => e >= b && (i === 0 || b >= cues[i - 1]![1]))).toBe(true);
    // The last cue ends where the speech does: the file goes on for the last sentence's pause.
    const after = whole - cues.at(-1)![1];
    expect(after).toBeGreaterThanOrEqual(0);
    expect(after).toBeLessThanOrEqual(FAST_SENTENCE_PAUSE_MS + 36 * parts.length);
  }, 120_000);

  it("retries a part ICE failed, alone, and keeps the finished ones", async () => {
    const before = cloud().ice.stats.submitted;
    cloud().ice.faults.failNext.push({ code: "InternalError", message: "The job failed on the server." });
    const text = Array.from({ length: 3_600 }, (_, i) => `第${i}句话。`).join("");
    const { id } = await post({ provider: "ice", text, voice: "xiaoyun", format: "wav", sampleRate: 8000 });
    await settle();
    const parent = await job(id);
    expect(parent.state).toBe("done");
    expect(parent.parts!.length).toBeGreaterThanOrEqual(3);
    // every part once, the failed one twice
    expect(cloud().ice.stats.submitted - before).toBe(parent.parts!.length + 1);
    // The failed task made no audio: nothing of it is counted as billed.
    expect((await progressOf(id)).characters).toMatchObject({
      synthesized: parent.characters,
      billed: parent.characters,
    });
    const wav = (await oss().get(parent.output.audioKey)).content as Buffer;
    expect(wav.subarray(0, 4).toString()).toBe("RIFF");
    // One header over all the parts' data, its sizes true (the label's INFO chunk sits before the data).
    const data = wavDataChunk(wav)!;
    expect(data.size).toBe(wav.length - data.offset);
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
  }, 120_000);

  it("says the audible AIGC notice first, in the job's voice, and shifts every cue by exactly the notice's length", async () => {
    const text = "第一句话。第二句话。Third sentence is here.";
    const options = { text, voice: "siqi", format: "mp3", subtitles: ["srt"] };
    const plain = await post(options);
    const noticed = await post({ ...options, label: { audible: true } });
    await settle();
    const [a, b] = [await job(plain.id), await job(noticed.id)];
    expect([a.state, b.state]).toEqual(["done", "done"]);
    // The notice is a part of its own: stitching measures it like any other part.
    expect(a.parts).toBeUndefined();
    expect(b.parts).toHaveLength(2);
    const notice = await job(b.parts![0]!.jobId);
    const noticeMs = mp3DurationMs((await oss().get(notice.output.audioKey)).content as Buffer);
    expect(noticeMs).toBeGreaterThan(0);
    const srtA = (await oss().get(a.output.srtKey!)).content.toString();
    const srtB = (await oss().get(b.output.srtKey!)).content.toString();
    expect(srtB).toMatch(/^1\n00:00:00,000 --> .*\n本音频由人工智能生成。\n/);
    const [timesA, timesB] = [srtTimes(srtA), srtTimes(srtB)];
    expect(timesB).toHaveLength(timesA.length + 1);
    timesA.forEach(([begin, end], i) => {
      expect(Math.abs(timesB[i + 1]![0] - (begin + noticeMs))).toBeLessThanOrEqual(1);
      expect(Math.abs(timesB[i + 1]![1] - (end + noticeMs))).toBeLessThanOrEqual(1);
    });
    // The whole is the notice and then the same speech: its length is theirs, to within a frame.
    const lengthA = mp3DurationMs((await oss().get(a.output.audioKey)).content as Buffer);
    const lengthB = mp3DurationMs((await oss().get(b.output.audioKey)).content as Buffer);
    expect(Math.abs(lengthB - (lengthA + noticeMs))).toBeLessThanOrEqual(72);
  });

  it("resubmits a task NLS failed with a transient code, and finishes the job", async () => {
    const before = cloud().nls.longText.stats.submitted;
    cloud().nls.longText.faults.failNext.push({ code: 51020001, message: "TTS:TtsServerError" });
    const { id } = await post({ text: "服务器暂时出错后重试。", voice: "siqi", format: "mp3", sampleRate: 16000 });
    await settle();
    const j = await job(id);
    expect([j.state, j.retries, j.failure?.reason]).toEqual(["done", 1, undefined]);
    expect(cloud().nls.longText.stats.submitted - before).toBe(2);
  });

  it("answers 202 for a job whose submission worked though the status look right after it failed transiently", async () => {
    // More failures than the client's own retries: the look after submission fails for good, the submission stands.
    for (let i = 0; i < 6; i++)
      cloud().nls.longText.faults.failStatus.push({ status: 500, code: 50000000, message: "GRPC_ERROR:Grpc error!" });
    const res = await fetch(`${host.url}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ text: "提交成功，查询失败。", voice: "siqi" }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    cloud().nls.longText.faults.failStatus.length = 0;
    await settle();
    expect((await job(id)).state).toBe("done");
  });
});
