/**
 * The AI-generated-content label in the audio's own container: written into MP3 (ID3v2.4) and WAV (LIST/INFO) as the
 * audio streams past in chunks of any size, read back by our reader and by an independent one (music-metadata), and
 * never changing a byte of the audio itself.
 */
import fc from "fast-check";
import { parseBuffer } from "music-metadata";
import { describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { outputLabel } from "../../lib/audio/aigc-label.js";
import { labelAudio, readLabel } from "../../lib/audio/label-container.js";
import { mp3Frames } from "../../lib/audio/mp3.js";
import { readWav } from "../../lib/audio/wav.js";
import { collect } from "../helpers/streams.js";

const label = outputLabel({
  producer: "示例科技 (filing 1100-0001)",
  contentId: "job-0001",
  synthesis: { provider: "nls", voice: "siqi" },
});

async function audio(format: "mp3" | "wav"): Promise<Buffer> {
  const made = await new FastEngine().synthesize({
    text: "你好，世界。Hello there.",
    voice: "siqi",
    format,
    sampleRate: 16000,
  } as never);
  return Buffer.from(made.audio);
}

/** `buf` as a stream of chunks of the given sizes (cycled). */
async function* chunks(buf: Buffer, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  for (let at = 0, i = 0; at < buf.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield buf.subarray(at, at + n);
    at += n;
  }
}

describe("the AIGC label in MP3 and WAV", () => {
  it("is written whatever the chunking, read back, and leaves the audio's frames and samples as they were", async () => {
    const mp3 = await audio("mp3");
    const wav = await audio("wav");
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 5 }), async (sizes) => {
        const m = await labelAudio("mp3", chunks(mp3, sizes), label);
        const labelledMp3 = await collect(m.stream);
        expect(labelledMp3.length - mp3.length).toBe(m.addedBytes);
        expect(readLabel(labelledMp3)).toEqual(label);
        expect(mp3Frames(labelledMp3).length).toBe(mp3Frames(mp3).length);
        const w = await labelAudio("wav", chunks(wav, sizes), label);
        const labelledWav = await collect(w.stream);
        expect(labelledWav.length - wav.length).toBe(w.addedBytes);
        expect(readLabel(labelledWav)).toEqual(label);
        const before = readWav(wav)!;
        const after = readWav(labelledWav)!;
        expect(after.durationMs).toBe(before.durationMs);
        expect(labelledWav.subarray(after.dataOffset).equals(wav.subarray(before.dataOffset))).toBe(true);
        expect(labelledWav.readUInt32LE(4)).toBe(labelledWav.length - 8);
      }),
      { numRuns: 30, seed: 29 },
    );
  });

  it("replaces a label already there instead of stacking a second", async () => {
    const mp3 = await audio("mp3");
    const once = await collect((await labelAudio("mp3", chunks(mp3, [4096]), label)).stream);
    const other = outputLabel({ producer: "another", contentId: "job-0002", synthesis: { provider: "minimax" } });
    const twice = await labelAudio("mp3", chunks(once, [3]), other);
    const out = await collect(twice.stream);
    expect(readLabel(out)).toEqual(other);
    expect(out.length).toBe(once.length + twice.addedBytes);
    expect(mp3Frames(out).length).toBe(mp3Frames(mp3).length);
    const wav = await collect((await labelAudio("wav", chunks(await audio("wav"), [4096]), label)).stream);
    const relabel = await labelAudio("wav", chunks(wav, [100]), other);
    const relabelled = await collect(relabel.stream);
    expect(readLabel(relabelled)).toEqual(other);
    // One LIST/INFO: the old one's bytes went, the new one's came.
    expect(relabelled.length).toBe(wav.length + relabel.addedBytes);
    expect(relabelled.toString("latin1").split("LIST").length - 1).toBe(1);
  });

  it("is found by an independent reader (music-metadata): ID3v2.4 TXXX:AIGC, and the WAV's INFO comment", async () => {
    const mp3 = await collect((await labelAudio("mp3", chunks(await audio("mp3"), [1000]), label)).stream);
    const fromMp3 = await parseBuffer(mp3, { mimeType: "audio/mpeg" });
    const txxx = fromMp3.native["ID3v2.4"]?.find((t) => t.id === "TXXX:AIGC");
    expect(JSON.parse(String(txxx?.value))).toEqual(label.aigc);
    const wav = await collect((await labelAudio("wav", chunks(await audio("wav"), [1000]), label)).stream);
    const fromWav = await parseBuffer(wav, { mimeType: "audio/wav" });
    const comment = fromWav.common.comment?.[0];
    const text = typeof comment === "string" ? comment : comment?.text;
    expect(JSON.parse(String(text)).AIGC).toEqual(label.aigc);
    expect(fromWav.format.duration).toBeCloseTo(readWav(wav)!.durationMs / 1000, 3);
  });

  it("leaves no audio as no audio: an empty source gets no label that would pass for audio by its size", async () => {
    for (const format of ["mp3", "wav"] as const) {
      const empty = await labelAudio(format, chunks(Buffer.alloc(0), [1]), label);
      expect(empty.addedBytes).toBe(0);
      expect((await collect(empty.stream)).length).toBe(0);
    }
  });

  it("refuses audio that is not the container it should be, naming what it is not", async () => {
    await expect(labelAudio("wav", chunks(Buffer.from("not a wave file at all"), [5]), label)).rejects.toThrow(
      /not a RIFF\/WAVE file/,
    );
  });
});
