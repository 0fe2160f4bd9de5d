import { describe, expect, it } from "vitest";
import { id3v2Size, mp3DurationMs, mp3Frames } from "../../lib/audio/mp3.js";
import { Mp3Reframer } from "../../lib/audio/mp3-reframer.js";
import { readWav } from "../../lib/audio/wav.js";
import { multiplierFromRate, rateFromMultiplier } from "../../lib/text/speech-rate.js";

/** An MPEG-2 Layer III frame header: 16 kHz, 32 kbit/s, no padding → 144 bytes, 576 samples. */
function frame(): Buffer {
  const f = Buffer.alloc(144);
  f.set([0xff, 0xf3, 0x48, 0xc4]);
  return f;
}

describe("mp3Frames", () => {
  it("walks frames back to back and measures duration from them", () => {
    const mp3 = Buffer.concat(Array.from({ length: 100 }, frame));
    expect(mp3Frames(mp3)).toHaveLength(100);
    expect(mp3DurationMs(mp3)).toBeCloseTo(100 * 36, 5);
  });

  it("skips a leading ID3v2 tag and stops at trailing garbage or a truncated frame", () => {
    const tag = Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5]);
    expect(id3v2Size(tag)).toBe(15);
    const mp3 = Buffer.concat([tag, frame(), frame(), Buffer.from("TAG"), frame()]);
    expect(mp3Frames(mp3)).toHaveLength(2);
    expect(mp3Frames(Buffer.concat([frame(), frame().subarray(0, 100)]))).toHaveLength(1);
  });
});

describe("readWav", () => {
  it("finds the data chunk after extra chunks and computes the duration", () => {
    const fmt = Buffer.alloc(24);
    fmt.write("fmt ", 0);
    fmt.writeUInt32LE(16, 4);
    fmt.writeUInt16LE(1, 8);
    fmt.writeUInt16LE(1, 10);
    fmt.writeUInt32LE(8000, 12);
    fmt.writeUInt32LE(16000, 16);
    fmt.writeUInt16LE(2, 20);
    fmt.writeUInt16LE(16, 22);
    const list = Buffer.concat([Buffer.from("LIST"), Buffer.from([4, 0, 0, 0]), Buffer.from("INFO")]);
    const data = Buffer.concat([Buffer.from("data"), Buffer.from([0x80, 0x3e, 0, 0]), Buffer.alloc(16000)]);
    const wav = Buffer.concat([Buffer.from("RIFF"), Buffer.alloc(4), Buffer.from("WAVE"), fmt, list, data]);
    expect(readWav(wav)).toMatchObject({
      sampleRate: 8000,
      channels: 1,
      bitsPerSample: 16,
      dataLength: 16000,
      durationMs: 1000,
    });
    expect(readWav(Buffer.from("not a wav file"))).toBeUndefined();
  });
});

describe("speech rate scale", () => {
  it("inverts seed 000's speech_rate formula", () => {
    expect(multiplierFromRate(0)).toBe(1);
    expect(multiplierFromRate(-500)).toBeCloseTo(0.5);
    expect(multiplierFromRate(500)).toBeCloseTo(2);
    expect(multiplierFromRate(-125)).toBeCloseTo(0.8);
    expect(multiplierFromRate(166)).toBeCloseTo(1.2, 1);
  });

  it("gives the seed's worked examples and refuses speeds NLS cannot make", () => {
    expect(rateFromMultiplier(0.8)).toBe(-125);
    expect(rateFromMultiplier(1.2)).toBe(167);
    expect(rateFromMultiplier(1)).toBe(0);
    expect(() => rateFromMultiplier(3)).toThrow(/speed: must be from 0.5 to 2.0/);
  });
});

describe("Mp3Reframer (MP3 measured as it streams)", () => {
  it("cuts chunks that end mid-frame into whole frames and measures them, as one pass over the whole file would", async () => {
    const { FastEngine } = await import("../../infra/local/audio/fast-engine.js");
    const { audio } = await new FastEngine().synthesize({
      text: "逐帧计时。".repeat(20),
      sampleRate: 16000,
      format: "mp3",
    });
    const framer = new Mp3Reframer();
    const out: Buffer[] = [];
    let perChunk = 0;
    for (let at = 0; at < audio.length; at += 7) {
      const chunk = audio.subarray(at, at + 7);
      perChunk += mp3DurationMs(chunk);
      const frames = framer.push(chunk);
      if (frames) out.push(frames);
    }
    expect(Buffer.concat(out).equals(audio)).toBe(true);
    expect(framer.ms).toBeCloseTo(mp3DurationMs(audio), 6);
    // Measuring each chunk on its own (what the timed CosyVoice path did) misses every frame a chunk boundary cuts.
    expect(perChunk).toBeLessThan(framer.ms / 2);
  });
});

describe("the fast engine's benchmark pace", () => {
  it("makes a long task take its characters' pace once, from its start, not a wait per piece", async () => {
    const { FastEngine } = await import("../../infra/local/audio/fast-engine.js");
    const { synthesizeLong } = await import("../../infra/local/audio/engine.js");
    // A clock that moves only when waited on: the waits are counted, never taken, and computing takes no time.
    let now = 0;
    const waits: number[] = [];
    const clock = {
      now: () => now,
      sleep: async (ms: number) => {
        waits.push(ms);
        now += ms;
      },
    };
    const engine = new FastEngine({ synthMsPerChar: 0.02, sleep: clock.sleep });
    // 3,000 characters: ten pieces of at most 300, 60 ms of pace in all.
    const text = "批量朗读的基准测试句子。".repeat(250);
    const { audio } = await synthesizeLong(engine, { text, sampleRate: 16000, format: "mp3" }, clock);
    expect(audio.length).toBeGreaterThan(1);
    // One wait for the whole task: a wait per piece added each piece's timer delay and computing to the pace.
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeCloseTo(60, 6);
    // A short request (one piece, no caller pacing it) waits out its own pace: 300 characters, 6 ms.
    await engine.synthesize({ text: "短句。".repeat(100), sampleRate: 16000, format: "mp3" });
    expect(waits).toHaveLength(2);
    expect(waits[1]).toBeCloseTo(6, 6);
  });
});
