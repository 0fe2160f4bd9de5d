import { describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { measuring } from "../../lib/audio/audio-meter.js";
import { mp3DurationMs } from "../../lib/audio/mp3.js";
import { readWav } from "../../lib/audio/wav.js";
import { partTooShort } from "../../lib/jobs/coverage-map.js";
import { type Job, JobOptionsSchema } from "../../lib/jobs/schema.js";
import { createLogger } from "../../lib/log.js";
import { MemoryBucket } from "../../lib/storage/bucket.js";
import { countNlsChars } from "../../lib/text/index.js";
import { jobRecord } from "../helpers/job-record.js";

async function* chunks(buf: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < buf.length; at += size) yield buf.subarray(at, at + size);
}

describe("audio measured as it streams past", () => {
  it("lasts what the whole file says, in MP3, WAV and PCM, whatever the chunks, and passes every byte on", async () => {
    for (const format of ["mp3", "wav", "pcm"] as const) {
      const { audio } = await new FastEngine().synthesize({
        text: "测量时长。Measured as it passes.",
        voice: "siqi",
        format,
        sampleRate: 16000,
      } as never);
      const whole = Buffer.from(audio);
      const expected =
        format === "mp3"
          ? mp3DurationMs(whole)
          : format === "wav"
            ? readWav(whole)!.durationMs
            : (whole.length / 2 / 16000) * 1000;
      for (const size of [7, 1000, whole.length]) {
        const counter = { ms: 0 };
        const out: Uint8Array[] = [];
        for await (const c of measuring(format, 16000, chunks(whole, size), counter)) out.push(c);
        expect(Buffer.concat(out).equals(whole)).toBe(true);
        expect(counter.ms, `${format} in ${size}-byte chunks`).toBeCloseTo(expected, 6);
      }
    }
  });
});

describe("a part too short for its text", () => {
  const log = createLogger({ write: () => undefined });
  /** A part whose text is `text`, stored where its record says. */
  async function part(text: string, extra: Partial<Job> = {}) {
    const storage = new MemoryBucket();
    const jobs = { textKey: (id: string) => `texts/${id}` };
    await storage.put(jobs.textKey("part-1"), text);
    const job = jobRecord({
      id: "part-1",
      state: "synthesized",
      idempotencyKey: "part:abc",
      characters: countNlsChars(text),
      output: { audioKey: "jobs/parts/part-1.mp3" },
      parent: { id: "job-1", index: 0 },
      ...extra,
    });
    return { job, deps: { storage, jobs, log } };
  }

  it("is made again under the low edge of its text's pace band, which scales with the speech rate", async () => {
    // 100 Han characters: 28.4 s at the calibrated pace, 14.2 s at the least.
    const zh = await part("这".repeat(100));
    expect(await partTooShort(zh.job, 14_200, zh.deps)).toBeUndefined();
    expect(await partTooShort(zh.job, 14_199, zh.deps)).toMatch(/less than the 14200 ms/);
    // 100 Latin letters: 3.55 s at the least.
    const en = await part("a".repeat(100));
    expect(await partTooShort(en.job, 3_550, en.deps)).toBeUndefined();
    expect(await partTooShort(en.job, 3_549, en.deps)).toMatch(/less than the 3550 ms/);
    // Twice as fast (speechRate 500): half the floor.
    const fast = await part("这".repeat(100), { options: JobOptionsSchema.parse({ speechRate: 500 }) });
    expect(await partTooShort(fast.job, 7_100, fast.deps)).toBeUndefined();
    expect(await partTooShort(fast.job, 7_000, fast.deps)).toBeDefined();
  });

  it("reads no text when the audio is long enough for as many Han characters, and keeps a short replacement", async () => {
    const zh = await part("这".repeat(100));
    const reads = () => zh.deps.storage.ops.filter((o) => o.op === "get").length;
    expect(await partTooShort(zh.job, 20_000, zh.deps)).toBeUndefined();
    expect(reads()).toBe(0);
    const again = await part("这".repeat(100), { idempotencyKey: "part:abc#1" });
    expect(await partTooShort(again.job, 10, again.deps)).toBeUndefined();
    const whole = await part("这".repeat(100), { parent: undefined });
    expect(await partTooShort(whole.job, 10, whole.deps)).toBeUndefined();
  });
});
