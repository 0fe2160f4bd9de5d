/**
 * The pure pieces of audiobook making: FFmpeg's meter log read, the metadata file escaped, each profile's arguments,
 * MP3 frames counted and tags dropped across chunk boundaries, a book request moved under `book`, and FFmpeg's
 * refusals (no binary, a failed run) turned into errors that say why.
 */
import { EventEmitter } from "node:events";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { outputLabel } from "../../lib/audio/aigc-label.js";
import { bookEncoding, chapterMp3Args, ffmetadata, m4bArgs, stretchInput } from "../../lib/audio/book-encoding.js";
import { chapterGain, checkFigures, planGains } from "../../lib/audio/conformance.js";
import { Ffmpeg, FfmpegError } from "../../lib/audio/ffmpeg.js";
import { parseMeterLog } from "../../lib/audio/ffmpeg-meter.js";
import { id3Label } from "../../lib/audio/label-container.js";
import { countMp3Samples, withoutId3 } from "../../lib/audio/mp3-stream.js";
import { BookInputSchema, bookFromInput } from "../../lib/books/book-input.js";
import { bookRequestAsJob } from "../../lib/jobs/intake.js";

const METER_LOG = `[Parsed_astats_0 @ 0x1] Overall
[Parsed_astats_0 @ 0x1] Peak level dB: -24.419203
[Parsed_astats_0 @ 0x1] RMS level dB: -29.014207
[Parsed_astats_0 @ 0x1] RMS trough dB: -inf
[Parsed_ebur128_1 @ 0x2] Summary:

  Integrated loudness:
    I:         -20.4 LUFS
    Threshold: -30.4 LUFS

  Loudness range:
    LRA:         3.1 LU

  True peak:
    Peak:       -3.6 dBFS
`;

/** One MPEG-2 Layer III frame at 16 kHz and 32 kbit/s: 144 bytes, 576 samples. */
const frame = () => {
  const f = Buffer.alloc(144);
  f.set([0xff, 0xf3, 0x48, 0xc4]);
  return f;
};

async function* chunked(bytes: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

describe("audiobook encoding", () => {
  it("reads the figures from FFmpeg's ebur128 and astats summaries, digital silence as −∞", () => {
    expect(parseMeterLog(METER_LOG)).toEqual({
      integratedLufs: -20.4,
      truePeakDbtp: -3.6,
      rmsDbfs: -29.014207,
      noiseFloorDbfs: Number.NEGATIVE_INFINITY,
    });
    expect(() => parseMeterLog("nothing here")).toThrow(/no integrated loudness/);
  });

  it("gains each chapter linearly to the target, lowered to keep the true peak under the ceiling", () => {
    const figures = { integratedLufs: -26, truePeakDbtp: -10, rmsDbfs: -28, noiseFloorDbfs: -90 };
    expect(chapterGain(figures)).toBe(6);
    expect(chapterGain({ ...figures, truePeakDbtp: -5 })).toBe(2);
    expect(chapterGain(figures, bookEncoding("default", -18).loudness)).toBe(7);
    expect(checkFigures({ ...figures, integratedLufs: -20.9 }).loudness!.pass).toBe(true);
    expect(checkFigures({ ...figures, integratedLufs: -21.1 }).loudness!.pass).toBe(false);
    expect(checkFigures(figures, bookEncoding("acx").loudness).rms).toMatchObject({ value: -28, pass: false });
  });

  it("plans one gain per chapter for the book: as near the target as each peak allows, the book within its spread", () => {
    const f = (integratedLufs: number, truePeakDbtp: number) => ({
      integratedLufs,
      truePeakDbtp,
      rmsDbfs: 0,
      noiseFloorDbfs: -90,
    });
    // Room under the ceiling: every chapter to the target.
    expect(planGains([f(-26, -12), f(-23, -9)])).toEqual([6, 3]);
    // A peaky chapter reaches only −22 (its peak at −3): the others stop 0.75 LU above it, not at −20.
    expect(planGains([f(-26, -12), f(-24, -5), f(-20, -10)])).toEqual([4.75, 2, -1.25]);
    // Silence gets no gain and does not pull the book down.
    expect(planGains([f(-26, -12), f(Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY)])).toEqual([6, 0]);
  });

  it("encodes a chapter with one volume, the profile's rate and bitrate, room tone, and no tag or Xing header", () => {
    const acx = chapterMp3Args({
      input: stretchInput("book.mp3", 1500, 62_250.5),
      encoding: bookEncoding("acx"),
      sourceRate: 16000,
      gainDb: 3.456,
      output: "out.mp3",
    });
    expect(acx.slice(0, 6)).toEqual(["-ss", "1.500", "-t", "60.751", "-i", "book.mp3"]);
    const filters = acx[acx.indexOf("-af") + 1];
    expect(filters).toBe("volume=3.46dB:precision=double,aresample=44100,adelay=750:all=1,apad=pad_dur=2.000");
    expect(acx.join(" ")).toContain("-ar 44100 -c:a libmp3lame -b:a 192k -write_xing 0 -id3v2_version 0");
    const plain = chapterMp3Args({
      input: ["-i", "x"],
      encoding: bookEncoding(),
      sourceRate: 16000,
      gainDb: 0,
      output: "o",
    });
    expect(plain.join(" ")).toContain("-ar 16000 -c:a libmp3lame -b:a 64k");
    expect(plain[plain.indexOf("-af") + 1]).not.toContain("aresample");
    const m4b = m4bArgs({
      encoding: bookEncoding(),
      rate: 16000,
      metadataFile: "m.txt",
      coverFile: "c.jpg",
      output: "b.m4b",
    });
    expect(m4b.join(" ")).toContain("-map 2:v -c:v copy -disposition:v attached_pic");
    expect(m4b.join(" ")).toContain("-map_chapters 1 -c:a aac -b:a 48k");
  });

  it("writes FFmpeg's metadata file with the book's tags and chapters, escaping what the format reserves", () => {
    const text = ffmetadata({
      title: "A = B; #1",
      author: "Li\\Wang",
      label: '{"Label":"1"}',
      chapters: [
        { title: "One", startMs: 0, endMs: 1000.4 },
        { title: "Two\nlines", startMs: 1000.4, endMs: 2000 },
      ],
    });
    expect(text.split("\n")[0]).toBe(";FFMETADATA1");
    expect(text).toContain("title=A \\= B\\; \\#1\n");
    expect(text).toContain("artist=Li\\\\Wang\n");
    expect(text).toContain("[CHAPTER]\nTIMEBASE=1/1000\nSTART=1000\nEND=2000\ntitle=Two\\\nlines\n");
  });

  it("counts an MP3's samples and drops its tag whatever the chunk boundaries", async () => {
    const tag = id3Label(outputLabel({ contentId: "job-1", synthesis: { provider: "nls", voice: "siqi" } }));
    const mp3 = Buffer.concat([tag, frame(), frame(), frame(), Buffer.from("TAG")]);
    for (const size of [1, 7, 143, 4096]) {
      expect(await countMp3Samples(chunked(mp3, size))).toEqual({ samples: 3 * 576, rate: 16000 });
      const out: Uint8Array[] = [];
      for await (const c of withoutId3(chunked(mp3, size))) out.push(c);
      expect(Buffer.concat(out)).toEqual(mp3.subarray(tag.length));
    }
    const untagged: Uint8Array[] = [];
    for await (const c of withoutId3(chunked(Buffer.concat([frame(), frame()]), 5))) untagged.push(c);
    expect(Buffer.concat(untagged).length).toBe(288);
  });

  it("takes a book at POST /v1/books with its own fields at the top, and a manifest of chapters", () => {
    const moved = bookRequestAsJob({ chapters: [{ title: "One", text: "Hello." }], profile: "acx", voice: "siqi" });
    expect(moved).toEqual({ voice: "siqi", book: { chapters: [{ title: "One", text: "Hello." }], profile: "acx" } });
    const book = bookFromInput(
      BookInputSchema.parse({ chapters: [{ title: "One", text: "Hello there." }], title: "Mine", author: "Me" }),
    );
    expect(book).toEqual({ title: "Mine", author: "Me", chapters: [{ title: "One", text: "Hello there." }] });
    expect(() => bookFromInput({ chapters: [{ title: "Empty", text: "Empty" }] })).toThrow(/chapter 1 \("Empty"\)/);
    expect(BookInputSchema.safeParse({ markdown: "# A", chapters: [] }).success).toBe(false);
    expect(BookInputSchema.safeParse({ markdown: "# A", profile: "mp4" }).success).toBe(false);
    expect(BookInputSchema.safeParse({ markdown: "# A", targetLufs: -5 }).success).toBe(false);
  });
});

describe("the FFmpeg client", () => {
  /** A child process that ends with `code` after writing `stderr`, or fails to start with `error`. */
  const fakeSpawn = (outcome: { code?: number; stderr?: string; error?: NodeJS.ErrnoException }) => {
    const calls: string[][] = [];
    const spawn = (_command: string, args: readonly string[]) => {
      calls.push([...args]);
      const child = Object.assign(new EventEmitter(), {
        stdin: new PassThrough(),
        stdout: new PassThrough(),
        stderr: new PassThrough(),
        kill: () => true,
      });
      setImmediate(() => {
        if (outcome.error) return child.emit("error", outcome.error);
        child.stderr.end(outcome.stderr ?? "");
        child.stdout.end();
        setImmediate(() => child.emit("close", outcome.code ?? 0));
      });
      return child as never;
    };
    return { spawn, calls };
  };

  it("runs FFmpeg without banner, progress or questions and answers its log", async () => {
    const fake = fakeSpawn({ stderr: "Summary: fine\n" });
    expect(await new Ffmpeg({ path: "ffmpeg" }, fake.spawn).run(["-i", "x"])).toBe("Summary: fine\n");
    expect(fake.calls[0]).toEqual(["-hide_banner", "-nostdin", "-nostats", "-y", "-i", "x"]);
  });

  it("says where FFmpeg was looked for when it is missing, and the last lines of its log when it fails", async () => {
    const missing = new Ffmpeg(
      { path: "/nowhere/ffmpeg" },
      fakeSpawn({ error: Object.assign(new Error("spawn"), { code: "ENOENT" }) }).spawn,
    );
    await expect(missing.run([])).rejects.toMatchObject({
      code: "EncoderMissing",
      message: expect.stringMatching(/\/nowhere\/ffmpeg.*FFMPEG_PATH/),
    });
    const failing = new Ffmpeg(
      { path: "ffmpeg" },
      fakeSpawn({ code: 1, stderr: "a\nb\nc\nd\ne: Invalid data found\n" }).spawn,
    );
    const error = await failing.run([]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FfmpegError);
    expect((error as Error).message).toBe("ffmpeg ended with 1: b | c | d | e: Invalid data found");
  });
});
