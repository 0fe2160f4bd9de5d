import { afterAll, describe, expect, it } from "vitest";
import { SpeechEngine } from "../../infra/local/audio/engine.js";
import { mp3DurationMs, mp3Frames } from "../../lib/audio/mp3.js";
import { shiftCues, stitch } from "../../lib/audio/stitch.js";
import { readWav } from "../../lib/audio/wav.js";

const engine = new SpeechEngine();
afterAll(() => engine.close());

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** Feeds a buffer in odd-sized pieces, as a network stream would. */
function pieces(buf: Buffer, size = 1000): () => AsyncIterable<Uint8Array> {
  return async function* () {
    for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
  };
}

const texts = ["第一部分的文字。", "Second part, in English.", "第三部分，最后一段。"];

describe("stitch", () => {
  it("joins MP3 parts frame-accurately: the whole lasts the sum of its parts", async () => {
    const parts = await Promise.all(texts.map((text) => engine.synthesize({ text, format: "mp3", sampleRate: 16000 })));
    const id3 = Buffer.concat([Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 10]), Buffer.alloc(10)]);
    const stitched = stitch(
      "mp3",
      parts.map((p, i) => ({ open: pieces(i === 1 ? Buffer.concat([id3, p.audio]) : p.audio, 777) })),
      16000,
    );
    const out = await collect(stitched.stream);
    const durations = await stitched.durations;
    const sum = parts.reduce((s, p) => s + mp3DurationMs(p.audio), 0);
    expect(durations.reduce((a, b) => a + b, 0)).toBeCloseTo(sum, 3);
    // one MPEG-2 layer III frame at 16 kHz lasts 36 ms: the join costs at most a frame each
    expect(Math.abs(mp3DurationMs(out) - sum)).toBeLessThanOrEqual(36 * (parts.length - 1));
    expect(mp3Frames(out).length).toBe(parts.reduce((s, p) => s + mp3Frames(p.audio).length, 0));
  });

  it("drops a Xing header frame from every part", async () => {
    const part = (await engine.synthesize({ text: "xing", format: "mp3", sampleRate: 16000 })).audio;
    const frame = mp3Frames(part)[0]!;
    const xing = Buffer.from(part.subarray(0, frame.length));
    xing.write("Xing", 20, "latin1");
    const stitched = stitch(
      "mp3",
      [{ open: pieces(Buffer.concat([xing, part])) }, { open: pieces(Buffer.concat([xing, part])) }],
      16000,
    );
    const out = await collect(stitched.stream);
    expect(mp3Frames(out).length).toBe(2 * mp3Frames(part).length);
    expect(out.includes(Buffer.from("Xing"))).toBe(false);
  });

  it("writes one WAV header over every part's data, and measures each part", async () => {
    const parts = await Promise.all(texts.map((text) => engine.synthesize({ text, format: "wav", sampleRate: 8000 })));
    const info = parts.map((p) => readWav(p.audio)!);
    const stitched = stitch(
      "wav",
      parts.map((p, i) => ({ open: pieces(p.audio, 333), dataBytes: info[i]!.dataLength })),
      8000,
    );
    const out = await collect(stitched.stream);
    const wav = readWav(out)!;
    expect(wav.dataLength).toBe(info.reduce((s, w) => s + w.dataLength, 0));
    expect(out.length).toBe(44 + wav.dataLength);
    expect((await stitched.durations).map(Math.round)).toEqual(info.map((w) => Math.round(w.durationMs)));
  });

  it("shifts each part's cues by the measured duration before it, keeping them monotonic", () => {
    const cues = shiftCues(
      [
        [{ text: "a", begin_time: 0, end_time: 900 }],
        [
          { text: "b", begin_time: 0, end_time: 500 },
          { text: "c", begin_time: 500, end_time: 1200 },
        ],
      ],
      [1000.4, 1100],
    );
    expect(cues).toEqual([
      { text: "a", begin_time: 0, end_time: 900 },
      { text: "b", begin_time: 1000, end_time: 1500 },
      { text: "c", begin_time: 1500, end_time: 2100 },
    ]);
  });
});
