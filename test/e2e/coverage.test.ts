/**
 * Nothing lost: a provider task that leaves a sentence out of its audio is caught by the part's coverage (its timed
 * sentences against its text), and the part is made again, alone, before the book is stitched; the finished job's map
 * then holds every sentence, and the part made twice is counted as billed twice.
 */
import type OSS from "ali-oss";
import { describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { mp3DurationMs } from "../../lib/audio/mp3.js";
import type { Job } from "../../lib/jobs/schema.js";
import { pacedMs } from "../../lib/text/pace.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { settle as settleAll, submitJob } from "../helpers/jobs.js";
import { useLocalCloud, userOss } from "../helpers/local-cloud.js";

const cloud = useLocalCloud({ engine: new FastEngine(), longText: { queueMs: 5, runMs: 5 } });
const KEY = "coverage-key";
const host = useFunctionHost(cloud, { TTS_API_KEYS: KEY, JOBS_PART_CHARS: "100", JOBS_PART_CONCURRENCY: "2" });
const settle = () => settleAll(host, cloud());
const job = async (id: string): Promise<Job> => (await host.platform.jobs().jobs.get(id))!;
const oss = (): OSS => userOss(cloud());

const submit = (body: unknown): Promise<string> => submitJob(host, KEY, body);

describe("coverage", () => {
  it("makes again a part whose audio lacks a sentence, and finishes with every sentence heard", async () => {
    const text = Array.from({ length: 24 }, (_, i) => `这是第${i + 1}句话，请完整地读出来。`).join("");
    cloud().nls.longText.faults.synthesis.next.dropSentence = 1;
    const before = cloud().nls.longText.stats.submitted;
    const id = await submit({ text, voice: "siqi", format: "mp3", subtitles: ["srt"] });
    await settle();
    expect(cloud().nls.longText.faults.synthesis.next.dropSentence).toBe(0);
    const parent = await job(id);
    expect(parent.state).toBe("done");
    // One part made twice: every part once, and the one that lost a sentence again.
    expect(cloud().nls.longText.stats.submitted - before).toBe(parent.parts!.length + 1);
    expect(parent.coverage).toMatchObject({ heard: 24, total: 24, missing: [] });
    const map = JSON.parse((await oss().get(parent.coverage!.mapKey)).content.toString()) as {
      sentences: Array<{ heard: boolean; part: number }>;
    };
    expect(map.sentences.every((s) => s.heard)).toBe(true);
    expect(new Set(map.sentences.map((s) => s.part)).size).toBe(parent.parts!.length);
    // The part made again is billed twice, and the progress says so.
    const view = (await (
      await fetch(`${host.url}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${KEY}` } })
    ).json()) as { progress: { characters: { synthesized: number; billed: number } } };
    expect(view.progress.characters.billed).toBeGreaterThan(view.progress.characters.synthesized);
  });

  it("makes again a part whose audio is cut off, which no timing shows, from its measured length", async () => {
    const text = Array.from({ length: 24 }, (_, i) => `第${i + 1}句没有时间戳，长度说明一切。`).join("");
    cloud().nls.longText.faults.synthesis.next.truncate = 1;
    const before = cloud().nls.longText.stats.submitted;
    const id = await submit({ text, voice: "xiaoyun", format: "mp3" });
    await settle();
    expect(cloud().nls.longText.faults.synthesis.next.truncate).toBe(0);
    const parent = await job(id);
    expect(parent.state).toBe("done");
    expect(cloud().nls.longText.stats.submitted - before).toBe(parent.parts!.length + 1);
    // The whole lasts what its text takes: nothing of it is a fifth of a part.
    const audio = (await oss().get(parent.output.audioKey)).content as Buffer;
    expect(mp3DurationMs(audio)).toBeGreaterThan(pacedMs(text) * 0.95);
    // No timings, yet a map: each sentence's place estimated from its pace within its part's measured audio.
    expect(parent.coverage).toBeUndefined();
    const map = JSON.parse((await oss().get(parent.seams!.mapKey)).content.toString()) as {
      timing: string;
      sentences: Array<{ text: string; beginMs: number; endMs: number; part: number; estimated: boolean }>;
    };
    expect(map.timing).toBe("estimated");
    expect(map.sentences).toHaveLength(24);
    expect(
      map.sentences.every(
        (s, i) => s.estimated && s.endMs > s.beginMs && (i === 0 || s.beginMs >= map.sentences[i - 1]!.endMs),
      ),
    ).toBe(true);
    expect(map.sentences.at(-1)!.endMs).toBeLessThanOrEqual(Math.ceil(mp3DurationMs(audio)));
    expect(new Set(map.sentences.map((s) => s.part)).size).toBe(parent.parts!.length);
  });
});
