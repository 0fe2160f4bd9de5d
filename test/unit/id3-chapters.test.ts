/** Chapters in an MP3's ID3v2.4 tag (CHAP and CTOC), beside the AIGC label, read back by an independent reader. */
import { parseBuffer } from "music-metadata";
import { describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { outputLabel } from "../../lib/audio/aigc-label.js";
import { chapterFrames, MAX_ID3_CHAPTERS } from "../../lib/audio/id3-chapters.js";
import { id3Label } from "../../lib/audio/label-container.js";
import { mp3DurationMs } from "../../lib/audio/mp3.js";

const label = outputLabel({ producer: "示例科技", contentId: "book-1", synthesis: { provider: "nls", voice: "siqi" } });

describe("ID3 chapters", () => {
  it("are read by music-metadata in order, with their titles and times, and the label is still there", async () => {
    const speech = await new FastEngine().synthesize({
      text: "第一章。第二章很长。",
      format: "mp3",
      sampleRate: 16000,
    } as never);
    const ms = mp3DurationMs(Buffer.from(speech.audio));
    const marks = [
      { title: "第一章 开始", startMs: 0, endMs: 1000 },
      { title: "Chapter 2: the end", startMs: 1000, endMs: Math.round(ms) },
    ];
    const file = Buffer.concat([id3Label(label, chapterFrames(marks)), Buffer.from(speech.audio)]);
    const read = await parseBuffer(file, { mimeType: "audio/mpeg" }, { includeChapters: true });
    expect(read.format.chapters?.map((c) => ({ title: c.title, start: c.start, end: c.end }))).toEqual([
      { title: "第一章 开始", start: 0, end: 1 },
      { title: "Chapter 2: the end", start: 1, end: Math.round(ms) / 1000 },
    ]);
    const txxx = read.native["ID3v2.4"]?.find((t) => t.id === "TXXX:AIGC");
    expect(JSON.parse(String(txxx?.value))).toEqual(label.aigc);
    expect(read.format.duration).toBeCloseTo(ms / 1000, 1);
  });

  it("refuses more chapters than one table of contents can list", () => {
    const many = Array.from({ length: MAX_ID3_CHAPTERS + 1 }, (_, i) => ({ title: `${i}`, startMs: i, endMs: i + 1 }));
    expect(() => chapterFrames(many)).toThrow(/at most 255 chapters, not 256/);
    expect(chapterFrames(many.slice(0, MAX_ID3_CHAPTERS)).length).toBeGreaterThan(255 * 20);
  });
});
