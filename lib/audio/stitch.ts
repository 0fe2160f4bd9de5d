/**
 * Joins audio parts into one stream while measuring each part's real duration, so subtitle cues can be shifted by
 * what was actually heard before them (not by an estimate, which drifts by minutes over hours).
 *
 * MP3: frames are copied back to back; a leading ID3v2 tag and a Xing/Info/VBRI header frame (which would announce
 * the wrong length for the whole) are dropped from every part; duration = frames × samples / rate.
 * WAV: each part's data chunk is copied under one header written for the total (sizes known up front).
 * PCM (16-bit mono): bytes are copied; duration = bytes / 2 / rate.
 */
import { frameAt, id3v2Size } from "./mp3.js";
import { wavDataChunk, wavHeader } from "./wav.js";

export type StitchFormat = "mp3" | "wav" | "pcm";

export interface StitchPart {
  /** The part's bytes, streamed. */
  open(): AsyncIterable<Uint8Array>;
  /** The part's data size in bytes (WAV: of its data chunk), needed up front for the WAV header. */
  readonly dataBytes?: number;
}

export interface Stitched {
  readonly stream: AsyncIterable<Uint8Array>;
  /** Resolves, once the stream has been read, to each part's measured duration in ms. */
  readonly durations: Promise<number[]>;
}

export function stitch(format: StitchFormat, parts: readonly StitchPart[], sampleRate: number): Stitched {
  let resolve!: (d: number[]) => void;
  let reject!: (e: unknown) => void;
  const durations = new Promise<number[]>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  durations.catch(() => undefined);
  const measured: number[] = [];
  async function* run(): AsyncGenerator<Uint8Array> {
    try {
      if (format === "wav") {
        const total = parts.reduce((s, p) => s + (p.dataBytes ?? Number.NaN), 0);
        if (!Number.isFinite(total)) throw new Error("WAV stitching needs every part's data size");
        yield wavHeader(total, sampleRate);
      }
      for (const part of parts) {
        const counter = { ms: 0 };
        if (format === "mp3") yield* mp3Frames(part.open(), counter);
        else if (format === "wav") yield* wavData(part.open(), counter, sampleRate);
        else yield* pcm(part.open(), counter, sampleRate);
        measured.push(counter.ms);
      }
      resolve(measured);
    } catch (error) {
      reject(error);
      throw error;
    }
  }
  return { stream: run(), durations };
}

/** Re-frames an MP3 byte stream: yields whole frames only, skipping ID3v2 and a VBR header frame. */
async function* mp3Frames(source: AsyncIterable<Uint8Array>, counter: { ms: number }): AsyncGenerator<Uint8Array> {
  const framer = new Mp3Reframer();
  for await (const chunk of source) {
    const frames = framer.push(chunk);
    counter.ms = framer.ms;
    if (frames) yield frames;
  }
}

/**
 * An MP3 byte stream cut into whole frames as it arrives, holding only an incomplete frame between chunks: a leading
 * ID3v2 tag and a VBR header frame are dropped, garbage between frames is skipped, and `ms` is the length of the
 * frames passed so far.
 */
export class Mp3Reframer {
  #buf: Buffer = Buffer.alloc(0);
  #started = false;
  #first = true;
  ms = 0;

  /** The whole frames completed by `chunk`, or undefined when none is. */
  push(chunk: Uint8Array): Buffer | undefined {
    let buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : Buffer.from(chunk);
    if (!this.#started) {
      const tag = buf.length < 10 ? -1 : id3v2Size(buf);
      if (tag === -1 || buf.length < tag) {
        this.#buf = buf;
        return undefined;
      }
      buf = buf.subarray(tag);
      this.#started = true;
    }
    let offset = 0;
    const out: Buffer[] = [];
    for (;;) {
      const frame = frameAt(buf, offset);
      if (!frame) {
        // Not at a frame: resynchronise on the next sync word (garbage between frames is dropped).
        const next = buf.indexOf(0xff, offset + 1);
        if (next === -1 || buf.length - offset < 4) break;
        offset = next;
        continue;
      }
      if (offset + frame.length > buf.length) break;
      const bytes = buf.subarray(offset, offset + frame.length);
      if (!(this.#first && isVbrHeader(bytes))) {
        out.push(bytes);
        this.ms += (frame.samples / frame.sampleRate) * 1000;
      }
      this.#first = false;
      offset += frame.length;
    }
    this.#buf = buf.subarray(offset);
    return out.length ? Buffer.concat(out) : undefined;
  }
}

/** A Xing/Info (LAME) or VBRI header frame carries no audio and describes only its own file. */
function isVbrHeader(frame: Uint8Array): boolean {
  const text = Buffer.from(frame.subarray(0, Math.min(frame.length, 64))).toString("latin1");
  return text.includes("Xing") || text.includes("Info") || text.includes("VBRI");
}

async function* wavData(
  source: AsyncIterable<Uint8Array>,
  counter: { ms: number },
  sampleRate: number,
): AsyncGenerator<Uint8Array> {
  let header: Buffer = Buffer.alloc(0);
  let remaining = -1;
  for await (const chunk of source) {
    let data: Buffer = Buffer.from(chunk);
    if (remaining < 0) {
      header = Buffer.concat([header, data]);
      const at = wavDataChunk(header);
      if (!at) continue;
      remaining = at.size;
      data = header.subarray(at.offset);
    }
    const take = data.subarray(0, remaining);
    remaining -= take.length;
    counter.ms += (take.length / 2 / sampleRate) * 1000;
    if (take.length) yield take;
    if (remaining === 0) return;
  }
}

async function* pcm(
  source: AsyncIterable<Uint8Array>,
  counter: { ms: number },
  sampleRate: number,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    counter.ms += (chunk.length / 2 / sampleRate) * 1000;
    yield chunk;
  }
}

/** Shifts each part's cues by the measured duration of the audio before it. */
export function shiftCues<T extends { begin_time: number; end_time: number }>(
  parts: readonly (readonly T[])[],
  durations: readonly number[],
): T[] {
  const out: T[] = [];
  let offset = 0;
  parts.forEach((cues, i) => {
    for (const c of cues)
      out.push({
        ...c,
        begin_time: Math.round(c.begin_time + offset),
        end_time: Math.round(Math.min(c.end_time, durations[i] ?? c.end_time) + offset),
      });
    offset += durations[i] ?? 0;
  });
  return out;
}
