/**
 * How much silence a part starts and ends with, measured from its first and last seconds only (two ranged reads of
 * the stored part, never the whole): decoded, and the first and last voiced 10 ms blocks found (lib/audio/voicing.ts).
 */
import { audioSpan } from "./audio-span.js";
import { frameAt } from "./mp3.js";
import { Mp3Reframer } from "./mp3-reframer.js";
import { decodeMono } from "./pcm-decode.js";
import { voicing } from "./voicing.js";

export interface PartEdges {
  /** Silence before the speech, in ms (the head window's length when it holds none). */
  readonly leadMs: number;
  /** Silence after the speech, in ms (the tail window's length when it holds none). */
  readonly trailMs: number;
  /** Whether speech was found in the head and in the tail window. */
  readonly voiced: boolean;
}

/** How much of each end is read and decoded: more than any pause a seam keeps, and a padded part's extra silence. */
export const EDGE_WINDOW_MS = 4000;

/** The bytes to read from each end to hold `EDGE_WINDOW_MS` at `bytesPerSecond`, with room for a tag and a frame. */
export function edgeReadBytes(bytesPerSecond: number): number {
  return Math.ceil((bytesPerSecond * EDGE_WINDOW_MS) / 1000) + 8192;
}

/**
 * `head`: the part's first bytes (MP3 from the start of the file, a tag included; PCM: the first samples). `tail`: its
 * last bytes (MP3: ending at the file's end; PCM: the last samples).
 */
export async function measureEdges(
  format: "mp3" | "pcm",
  head: Uint8Array,
  tail: Uint8Array,
  sampleRate: number,
): Promise<PartEdges> {
  const headAudio = audioSpan(
    format,
    format === "mp3" ? mp3HeadFrames(head) : head,
    sampleRate,
    EDGE_WINDOW_MS,
    "first",
  );
  const tailAudio = audioSpan(
    format,
    format === "mp3" ? mp3TailFrames(tail) : tail,
    sampleRate,
    EDGE_WINDOW_MS,
    "last",
  );
  const first = voicing(await decodeMono(format, headAudio.bytes), sampleRate);
  const last = voicing(await decodeMono(format, tailAudio.bytes), sampleRate);
  return {
    leadMs: Math.round(first.firstMs ?? first.durationMs),
    trailMs: Math.round(last.durationMs - (last.lastMs ?? 0)),
    voiced: first.firstMs !== undefined && last.lastMs !== undefined,
  };
}

/** The first whole frames of an MP3 file's start (a tag and VBR header frame left out). */
function mp3HeadFrames(bytes: Uint8Array): Buffer {
  return new Mp3Reframer().push(bytes) ?? Buffer.alloc(0);
}

/**
 * The whole frames at an MP3 file's end: the first offset from which frames follow one another exactly to the end of
 * the bytes (a trailing ID3v1 tag allowed) is where they start.
 */
function mp3TailFrames(bytes: Uint8Array): Buffer {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end =
    buf.length >= 128 && buf.toString("latin1", buf.length - 128, buf.length - 125) === "TAG"
      ? buf.length - 128
      : buf.length;
  for (let start = 0; start < Math.min(end, 8192); start++) {
    if (buf[start] !== 0xff) continue;
    let offset = start;
    for (let frame = frameAt(buf, offset); frame && offset + frame.length <= end; frame = frameAt(buf, offset))
      offset += frame.length;
    if (offset !== end || offset === start) continue;
    return buf.subarray(start, end);
  }
  return Buffer.alloc(0);
}
