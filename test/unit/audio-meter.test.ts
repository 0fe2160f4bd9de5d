import { describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { measuring } from "../../lib/audio/audio-meter.js";
import { mp3DurationMs } from "../../lib/audio/mp3.js";
import { readWav } from "../../lib/audio/wav.js";
import { MIN_MS_PER_CHARACTER, partTooShort } from "../../lib/jobs/coverage-map.js";
import { type Job, JobOptionsSchema } from "../../lib/jobs/schema.js";
import { createLogger } from "../../lib/log.js";
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
  const part = (extra: Partial<Job> = {}): Job =>
    jobRecord({
      id: "part-1",
      state: "synthesized",
      idempotencyKey: "part:abc",
      characters: 100,
      output: { audioKey: "jobs/parts/part-1.mp3" },
      parent: { id: "job-1", index: 0 },
      ...extra,
    });
  const log = createLogger({ write: () => undefined });

  it("is made again under the floor, which scales with the speech rate; a replacement short again is kept", () => {
    expect(partTooShort(part(), 100 * MIN_MS_PER_CHARACTER, log)).toBeUndefined();
    expect(partTooShort(part(), 100 * MIN_MS_PER_CHARACTER - 1, log)).toMatch(/less than the 3000 ms/);
    // Twice as fast (speechRate 500): half the floor.
    const fast = part({ options: JobOptionsSchema.parse({ speechRate: 500 }) });
    expect(partTooShort(fast, 1600, log)).toBeUndefined();
    expect(partTooShort(part({ idempotencyKey: "part:abc#1" }), 10, log)).toBeUndefined();
    expect(partTooShort(part({ parent: undefined }), 10, log)).toBeUndefined();
  });
});
