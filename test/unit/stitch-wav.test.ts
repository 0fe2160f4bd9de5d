/** Stitching WAV and PCM parts: one header over all the data, each part's duration measured from its bytes. */
import { describe, expect, it } from "vitest";
import { shiftCues, stitch } from "../../lib/audio/stitch.js";
import { pcmDurationMs, readWav, wavDataChunk, wavHeader } from "../../lib/audio/wav.js";
import { collect } from "../helpers/streams.js";

const pcmOf = (ms: number, rate = 16000): Buffer => Buffer.alloc((rate * 2 * ms) / 1000, 1);
const wavOf = (ms: number, rate = 16000): Buffer => {
  const data = pcmOf(ms, rate);
  return Buffer.concat([wavHeader(data.length, rate), data]);
};
const once = (bytes: Buffer) => ({
  open: async function* () {
    for (let at = 0; at < bytes.length; at += 1000) yield bytes.subarray(at, at + 1000);
  },
});

describe("WAV", () => {
  it("writes a header that reads back with its rate, data chunk and duration", () => {
    const wav = wavOf(500);
    expect(readWav(wav)).toMatchObject({ sampleRate: 16000, durationMs: 500 });
    expect(wavDataChunk(wav)).toEqual({ offset: 44, size: 16000 });
    expect(pcmDurationMs(32000, 16000)).toBe(1000);
    expect(readWav(Buffer.from("not a wav file at all"))).toBeUndefined();
  });

  it("stitches parts under one header, measuring each part", async () => {
    const parts = [wavOf(250), wavOf(500)].map((w) => ({ ...once(w), dataBytes: wavDataChunk(w)!.size }));
    const stitched = stitch("wav", parts, 16000);
    const audio = await collect(stitched.stream);
    expect(readWav(audio)).toMatchObject({ sampleRate: 16000, durationMs: 750 });
    expect(await stitched.durations).toEqual([250, 500]);
  });

  it("refuses WAV parts whose sizes are not known up front", async () => {
    const stitched = stitch("wav", [once(wavOf(100))], 16000);
    await expect(collect(stitched.stream)).rejects.toThrow(/data size/);
    await expect(stitched.durations).rejects.toThrow(/data size/);
  });

  it("joins PCM parts as they are, measuring each", async () => {
    const stitched = stitch("pcm", [once(pcmOf(100)), once(pcmOf(300))], 16000);
    expect((await collect(stitched.stream)).length).toBe(pcmOf(400).length);
    expect(await stitched.durations).toEqual([100, 300]);
  });
});

describe("cues across parts", () => {
  it("shifts each part's cues by the audio before it, and ends none past its part", () => {
    const cues = shiftCues(
      [[{ text: "a", begin_time: 0, end_time: 900 }], [{ text: "b", begin_time: 100, end_time: 400 }]],
      [800, 500],
    );
    expect(cues).toEqual([
      { text: "a", begin_time: 0, end_time: 800 },
      { text: "b", begin_time: 900, end_time: 1200 },
    ]);
  });
});
