/**
 * How an audiobook is encoded, by profile, and the FFmpeg arguments that do it.
 *
 * - `default` keeps the provider's sample rate: constant-bitrate MP3 (64 kbit/s up to 24 kHz, 128 above) and AAC in
 *   an M4B, each chapter brought to −20 LUFS with a −3 dBTP ceiling.
 * - `acx` is ACX's published submission requirements for its MP3s: 192 kbit/s constant-bitrate at 44.1 kHz, mono; RMS between
 *   −23 and −18 dB, peaks at most −3 dB, noise floor at most −60 dB; 0.5–1 s of room tone at each file's head and
 *   1–5 s at its tail; at most 120 minutes per file. A provider below 44.1 kHz is resampled, and the report says so.
 *
 * Every chapter file starts and ends with room tone (default 0.5 s and 1 s): a player's chapter skip lands before the
 * first word, and the noise floor is measured where there are no words (a voice's pauses between sentences are
 * shorter than the half second the floor is measured over). Room tone is the voice's own silence: synthetic speech
 * pauses are digital silence, so the tone is the same as between its sentences (ACX asks that it be consistent).
 * Gain is one linear `volume` per chapter: no compression, no limiter. MP3s carry no Xing/LAME header and no tag, so
 * chapter files join frame to frame into the book; the book's tag is written by us (lib/audio/id3-chapters.ts).
 */
import { ACX_PROFILE, DEFAULT_PROFILE, type LoudnessProfile } from "./conformance.js";

export const BOOK_PROFILES = ["default", "acx"] as const;
export type BookProfileName = (typeof BOOK_PROFILES)[number];

export interface BookEncoding {
  readonly name: BookProfileName;
  readonly loudness: LoudnessProfile;
  /** The output sample rate; undefined keeps the provider's. */
  readonly sampleRate?: number;
  readonly mp3Kbps: (rate: number) => number;
  /** The M4B's AAC bitrate at its rate: the M4B keeps the provider's rate in every profile (ACX takes the MP3s). */
  readonly aacKbps: (rate: number) => number;
  readonly roomToneHeadMs: number;
  readonly roomToneTailMs: number;
  /** The longest a file may be, in minutes (ACX's 120); undefined for no limit. */
  readonly maxFileMinutes?: number;
}

export const BOOK_ENCODINGS: Readonly<Record<BookProfileName, BookEncoding>> = {
  default: {
    name: "default",
    loudness: DEFAULT_PROFILE,
    mp3Kbps: (rate) => (rate <= 24_000 ? 64 : 128),
    aacKbps: (rate) => (rate <= 24_000 ? 48 : 96),
    roomToneHeadMs: 500,
    roomToneTailMs: 1000,
  },
  acx: {
    name: "acx",
    loudness: ACX_PROFILE,
    sampleRate: 44_100,
    mp3Kbps: () => 192,
    aacKbps: (rate) => (rate <= 24_000 ? 48 : 96),
    roomToneHeadMs: 750,
    roomToneTailMs: 2000,
    maxFileMinutes: 120,
  },
};

/** The encoding of `profile`, its loudness target moved to `targetLufs` when one is given. */
export function bookEncoding(profile: BookProfileName = "default", targetLufs?: number): BookEncoding {
  const base = BOOK_ENCODINGS[profile];
  return targetLufs === undefined ? base : { ...base, loudness: { ...base.loudness, targetLufs } };
}

/** Samples that LAME's encoder (576) and an MP3 decoder (529) put before the first sample, without a LAME header. */
export const MP3_CODEC_DELAY_SAMPLES = 576 + 529;

const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** FFmpeg's input arguments for the stretch [startMs, endMs) of `file`: seeking decodes to the exact sample. */
export function stretchInput(file: string, startMs: number, endMs: number): string[] {
  return ["-ss", seconds(startMs), "-t", seconds(endMs - startMs), "-i", file];
}

/** Arguments that make one chapter's MP3 from a stretch of the book: gain, rate, room tone, the profile's encoder. */
export function chapterMp3Args(opts: {
  readonly input: readonly string[];
  readonly encoding: BookEncoding;
  readonly sourceRate: number;
  readonly gainDb: number;
  readonly output: string;
}): string[] {
  const rate = opts.encoding.sampleRate ?? opts.sourceRate;
  const filters = [
    `volume=${opts.gainDb.toFixed(2)}dB:precision=double`,
    ...(rate !== opts.sourceRate ? [`aresample=${rate}`] : []),
    ...(opts.encoding.roomToneHeadMs ? [`adelay=${opts.encoding.roomToneHeadMs}:all=1`] : []),
    ...(opts.encoding.roomToneTailMs ? [`apad=pad_dur=${seconds(opts.encoding.roomToneTailMs)}`] : []),
  ];
  return [
    ...opts.input,
    "-vn",
    "-map_metadata",
    "-1",
    "-af",
    filters.join(","),
    "-ac",
    "1",
    "-ar",
    String(rate),
    "-c:a",
    "libmp3lame",
    "-b:a",
    `${opts.encoding.mp3Kbps(rate)}k`,
    "-write_xing",
    "0",
    "-id3v2_version",
    "0",
    "-fflags",
    "+bitexact",
    "-flags:a",
    "+bitexact",
    "-f",
    "mp3",
    opts.output,
  ];
}

export interface BookMetadata {
  readonly title?: string;
  readonly author?: string;
  /** The AIGC label, as JSON: every output carries it. */
  readonly label: string;
  readonly chapters: ReadonlyArray<{ readonly title: string; readonly startMs: number; readonly endMs: number }>;
}

/** FFmpeg's metadata file (`;FFMETADATA1`): the book's tags and one [CHAPTER] per chapter, in milliseconds. */
export function ffmetadata(meta: BookMetadata): string {
  // '=', ';', '#', '\' and newlines are escaped with a backslash in this format.
  const esc = (v: string) => v.replace(/[=;#\\\n]/g, (c) => `\\${c}`);
  const lines = [
    ";FFMETADATA1",
    ...(meta.title ? [`title=${esc(meta.title)}`, `album=${esc(meta.title)}`] : []),
    ...(meta.author ? [`artist=${esc(meta.author)}`, `album_artist=${esc(meta.author)}`] : []),
    "genre=Audiobook",
    `comment=${esc(meta.label)}`,
  ];
  for (const c of meta.chapters)
    lines.push(
      "[CHAPTER]",
      "TIMEBASE=1/1000",
      `START=${Math.round(c.startMs)}`,
      `END=${Math.round(c.endMs)}`,
      `title=${esc(c.title)}`,
    );
  return `${lines.join("\n")}\n`;
}

/**
 * Arguments that make the M4B: the book's MP3 (its chapters joined) read from standard input, AAC at `rate` (the
 * provider's: resampling an ACX book back down costs less than encoding AAC at 44.1 kHz, and adds nothing to hear),
 * the chapters and tags from `metadataFile`, a cover when there is one, the index at the front for streaming.
 */
export function m4bArgs(opts: {
  readonly encoding: BookEncoding;
  readonly rate: number;
  readonly metadataFile: string;
  readonly coverFile?: string;
  readonly output: string;
}): string[] {
  const cover = opts.coverFile ? ["-i", opts.coverFile] : [];
  return [
    "-f",
    "mp3",
    "-i",
    "pipe:0",
    "-i",
    opts.metadataFile,
    ...cover,
    "-map",
    "0:a",
    ...(opts.coverFile ? ["-map", "2:v", "-c:v", "copy", "-disposition:v", "attached_pic"] : []),
    "-map_metadata",
    "1",
    "-map_chapters",
    "1",
    "-c:a",
    "aac",
    "-b:a",
    `${opts.encoding.aacKbps(opts.rate)}k`,
    "-ac",
    "1",
    "-ar",
    String(opts.rate),
    "-movflags",
    "+faststart",
    "-fflags",
    "+bitexact",
    "-flags:a",
    "+bitexact",
    "-f",
    "ipod",
    opts.output,
  ];
}
