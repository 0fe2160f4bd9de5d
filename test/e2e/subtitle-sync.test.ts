/**
 * Subtitles on the audio they caption, as a listener would check them: each job's file is decoded, its pauses found,
 * and every cue of its .srt and .vtt compared with them, for NLS and ICE, in MP3, WAV and PCM, in one part and split
 * into several. What we promise: each cue starts within 100 ms of its sentence's audio and ends within 100 ms of its
 * end, and there is no drift (the last cue ends as far from the end of the file for one sentence as for hundreds).
 */
import { describe, expect, it } from "vitest";
import type { Job } from "../../lib/jobs/schema.js";
import { cuesOf, decode, listen, nearest } from "../helpers/audio-sync.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { settle as settleAll } from "../helpers/jobs.js";
import { useLocalCloud, userOss } from "../helpers/local-cloud.js";

// Real speech (espeak-ng): its pauses are what the cues are checked against.
const cloud = useLocalCloud({ longText: { queueMs: 5, runMs: 5 } });
const KEY = "subtitle-sync-key";
// Parts of at most 300 characters (one synthesis piece each), so forty sentences make a job of several parts.
const host = useFunctionHost(cloud, { TTS_API_KEYS: KEY, JOBS_PART_CHARS: "300" });
const settle = () => settleAll(host, cloud());

const TOLERANCE_MS = 100;

type Format = "mp3" | "wav" | "pcm";

async function run(
  body: Record<string, unknown>,
): Promise<{ parts: number; audio: Buffer; srt: string; vtt: string; job: Job }> {
  const res = await fetch(`${host.url}/v1/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ subtitles: ["srt", "vtt"], ...body }),
  });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  await settle();
  const job = (await host.platform.jobs().jobs.get(id))!;
  expect(job.state, JSON.stringify(job.failure)).toBe("done");
  const oss = userOss(cloud());
  const get = async (key: string) => (await oss.get(key)).content as Buffer;
  return {
    job,
    parts: job.parts?.length ?? 1,
    audio: await get(job.output.audioKey),
    srt: (await get(job.output.srtKey!)).toString(),
    vtt: (await get(job.output.vttKey!)).toString(),
  };
}

/** Checks every cue against the decoded audio; answers the gap from the last cue's end to the end of the file. */
async function checkSync(out: { audio: Buffer; srt: string; vtt: string }, format: Format, sampleRate: number) {
  const cues = cuesOf(out.srt);
  expect(cuesOf(out.vtt)).toEqual(cues);
  const { samples, sampleRate: decodedRate } = await decode(out.audio, format, sampleRate);
  expect(decodedRate).toBe(sampleRate);
  const heard = listen(samples, decodedRate);
  const late = cues
    .map(([begin, end], i) => ({ i, start: nearest(begin, heard.onsets), stop: nearest(end, heard.offsets) }))
    .filter((c) => c.start > TOLERANCE_MS || c.stop > TOLERANCE_MS);
  expect(late, `cues off their audio (ms from the nearest pause edge), of ${cues.length}`).toEqual([]);
  expect(cues.every(([b, e], i) => e > b && (i === 0 || b >= cues[i - 1]![1]))).toBe(true);
  return heard.durationMs - cues.at(-1)![1];
}

/** The sentence every job here ends with: the gap after the last cue is compared between jobs that end alike. */
const LAST = "这是最后一句话。";
/** `n` sentences, Chinese and English, the last of them LAST. */
const sentences = (n: number) =>
  Array.from({ length: n - 1 }, (_, i) => (i % 3 === 2 ? `Sentence ${i + 1} is here.` : `这是第${i + 1}句话。`)).join(
    "",
  ) + LAST;

describe("subtitles match the audio", () => {
  for (const [provider, voice] of [
    ["nls", "siqi"],
    ["ice", "siqi"],
  ] as const) {
    for (const [format, sampleRate] of [
      ["mp3", 16000],
      ["wav", 16000],
      ["pcm", 8000],
    ] as const) {
      it(`${provider} ${format}: one sentence, and forty split into parts, each cue on its sentence, no drift`, async () => {
        const one = await run({ provider, voice, format, sampleRate, text: LAST });
        expect(one.parts).toBe(1);
        const gapOne = await checkSync(one, format, sampleRate);
        const many = await run({ provider, voice, format, sampleRate, text: sentences(40) });
        expect(many.parts).toBeGreaterThan(1);
        expect(cuesOf(many.srt)).toHaveLength(40);
        const gapMany = await checkSync(many, format, sampleRate);
        expect(Math.abs(gapMany - gapOne)).toBeLessThanOrEqual(TOLERANCE_MS);
      }, 120_000);
    }
  }

  it("no drift over a thousand sentences in many parts (NLS MP3 at 8 kHz, where each part adds the most padding)", async () => {
    const one = await run({ voice: "siqi", format: "mp3", sampleRate: 8000, text: LAST });
    const gapOne = await checkSync(one, "mp3", 8000);
    const many = await run({ voice: "siqi", format: "mp3", sampleRate: 8000, text: sentences(1000) });
    expect(many.parts).toBeGreaterThan(30);
    expect(cuesOf(many.srt)).toHaveLength(1000);
    const gapMany = await checkSync(many, "mp3", 8000);
    expect(Math.abs(gapMany - gapOne)).toBeLessThanOrEqual(TOLERANCE_MS);
  }, 300_000);

  for (const format of ["mp3", "wav"] as const)
    it(`NLS ${format}: a part that starts with 2 s of silence is trimmed to the voice's pause, not made again, its cues on their sentences`, async () => {
      const plain = await run({ voice: "siqi", format, sampleRate: 16000, text: sentences(40) });
      const before = cloud().nls.longText.stats.submitted;
      cloud().nls.longText.faults.synthesis.next.pad = 1;
      // As many sentences, worded apart (parts are reused by their text): every part new, the first padded.
      const padded = await run({
        voice: "siqi",
        format,
        sampleRate: 16000,
        text: sentences(40).replaceAll("句话", "个句子"),
      });
      expect(cloud().nls.longText.faults.synthesis.spoiled.pad).toBeGreaterThanOrEqual(1);
      // Nothing made again: one task per part.
      expect(cloud().nls.longText.stats.submitted - before).toBe(padded.parts);
      await checkSync(padded, format, 16000);
      // The padding is gone: the whole lasts what the plain job does, within a pause.
      const length = async (out: { audio: Buffer }) =>
        listen((await decode(out.audio, format, 16000)).samples, 16000).durationMs;
      expect(Math.abs((await length(padded)) - (await length(plain)))).toBeLessThan(1500);
      expect(padded.job.seams).toMatchObject({ joins: padded.parts - 1, outOfBounds: 0, clicks: 0 });
      expect(padded.job.seams!.trimmedMs).toBeGreaterThan(1500);
      const map = JSON.parse((await userOss(cloud()).get(padded.job.seams!.mapKey)).content.toString()) as {
        joins: Array<{ pauseMs: number; boundMs: number; ok: boolean }>;
      };
      expect(map.joins).toHaveLength(padded.parts - 1);
      expect(map.joins.every((j) => j.ok && j.pauseMs <= j.boundMs)).toBe(true);
    }, 120_000);
});
