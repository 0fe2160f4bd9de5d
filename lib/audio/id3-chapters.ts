/**
 * Chapters in an MP3's ID3v2.4 tag, as the ID3v2 Chapter Frame Addendum defines them: one CHAP frame per chapter (its
 * element id, start and end in ms, byte offsets unused, and a TIT2 title sub-frame) and one top-level, ordered CTOC
 * frame listing them. Players and `ffprobe -show_chapters` read these; so does music-metadata.
 */
import { id3Frame } from "./label-container.js";

export interface ChapterMark {
  readonly title: string;
  readonly startMs: number;
  readonly endMs: number;
}

/** A CTOC lists its children in one byte's count. */
export const MAX_ID3_CHAPTERS = 255;

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

function title(text: string): Buffer {
  return id3Frame("TIT2", Buffer.concat([Buffer.from([3]), Buffer.from(text, "utf8")]));
}

/** The CTOC and CHAP frames for `chapters`, in order. */
export function chapterFrames(chapters: readonly ChapterMark[]): Buffer {
  if (chapters.length > MAX_ID3_CHAPTERS)
    throw new RangeError(`an ID3 table of contents holds at most ${MAX_ID3_CHAPTERS} chapters, not ${chapters.length}`);
  const ids = chapters.map((_, i) => `ch${i + 1}`);
  const toc = id3Frame(
    "CTOC",
    Buffer.concat([
      Buffer.from("toc\0", "latin1"),
      // Top-level (0x02) and ordered (0x01).
      Buffer.from([0x03, chapters.length]),
      ...ids.map((id) => Buffer.from(`${id}\0`, "latin1")),
    ]),
  );
  const chaps = chapters.map((c, i) =>
    id3Frame(
      "CHAP",
      Buffer.concat([
        Buffer.from(`${ids[i]}\0`, "latin1"),
        u32(Math.round(c.startMs)),
        u32(Math.round(c.endMs)),
        // Byte offsets: not given (the times say where each chapter is).
        u32(0xffffffff),
        u32(0xffffffff),
        title(c.title),
      ]),
    ),
  );
  return Buffer.concat([toc, ...chaps]);
}
