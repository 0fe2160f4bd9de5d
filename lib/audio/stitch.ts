/**
 * Joins audio parts into one stream while measuring each part's real duration, so subtitle cues can be shifted by
 * what was actually heard before them (not by an estimate, which drifts by minutes over hours).
 *
 * MP3: frames are copied back to back; a leading ID3v2 tag and a Xing/Info/VBRI header frame (which would announce
 * the wrong length for the whole) are dropped from every part; duration = frames × samples / rate.
 * WAV: each part's data chunk is copied under one header written for the total (sizes known up front).
 * PCM (16-bit mono): bytes are copied; duration = bytes / 2 / rate.
 *
 * A part may be trimmed (silence beyond a natural pause at its edges, see lib/audio/seam-plan.ts): never more than
 * asked, in whole frames for MP3, whole samples otherwise. MP3 frames kept after a cut at the front are silenced
 * until their bytes cover what a later frame may read back (lib/audio/mp3-side-info.ts), so no frame decodes another
 * part's bytes.
 */
import { frameAt } from "./mp3.js";
import { Mp3Reframer } from "./mp3-reframer.js";
import { payloadBytes, reservoirReach, silencedFrame } from "./mp3-side-info.js";
import { wavDataChunk, wavHeader } from "./wav.js";

export type StitchFormat = "mp3" | "wav" | "pcm";

export interface PartTrim {
  /** Audio to drop from the part's start, in ms. */
  readonly leadMs: number;
  /** Audio to drop from its end, in ms. */
  readonly trailMs: number;
  /** Where its speech starts, in ms from its start: MP3 frames are silenced only a frame or more before it. */
  readonly voiceMs?: number;
}

export interface StitchPart {
  /** The part's bytes, streamed. */
  open(): AsyncIterable<Uint8Array>;
  /** The part's data size in bytes (WAV: of its data chunk), needed up front for the WAV header. */
  readonly dataBytes?: number;
  readonly trim?: PartTrim;
}

/** What each part gave the whole: its kept length and what was dropped from its start and end, in ms. */
export interface StitchedPart {
  readonly ms: number;
  readonly leadDroppedMs: number;
  readonly trailDroppedMs: number;
}

/** Sees the stitched audio part by part as it is written (the seams' measurements, lib/audio/seam-probe.ts). */
export interface StitchObserver {
  begin(part: number): void;
  /** Bytes of the current part as written (MP3: whole frames), lasting `ms`. */
  write(bytes: Uint8Array, ms: number): void;
  end(): Promise<void>;
}

export interface Stitched {
  readonly stream: AsyncIterable<Uint8Array>;
  /** Resolves, once the stream has been read, to each part's measured (kept) duration in ms. */
  readonly durations: Promise<number[]>;
  /** Resolves with `durations`, to what each part kept and dropped. */
  readonly parts: Promise<StitchedPart[]>;
}

const NO_TRIM: PartTrim = { leadMs: 0, trailMs: 0 };

export function stitch(
  format: StitchFormat,
  parts: readonly StitchPart[],
  sampleRate: number,
  observer?: StitchObserver,
): Stitched {
  let resolve!: (d: StitchedPart[]) => void;
  let reject!: (e: unknown) => void;
  const measured = new Promise<StitchedPart[]>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  measured.catch(() => undefined);
  const durations = measured.then((m) => m.map((p) => p.ms));
  durations.catch(() => undefined);
  const results: StitchedPart[] = [];
  async function* run(): AsyncGenerator<Uint8Array> {
    try {
      if (format === "wav") {
        const total = parts.reduce((s, p) => s + keptPcmBytes(p.dataBytes ?? Number.NaN, p.trim, sampleRate), 0);
        if (!Number.isFinite(total)) throw new Error("WAV stitching needs every part's data size");
        yield wavHeader(total, sampleRate);
      }
      for (const [index, part] of parts.entries()) {
        const counter = { ms: 0, leadDroppedMs: 0, trailDroppedMs: 0 };
        observer?.begin(index);
        const pieces =
          format === "mp3"
            ? mp3Frames(part.open(), part.trim ?? NO_TRIM, counter)
            : pcmSamples(
                format === "wav" ? wavData(part.open()) : part.open(),
                part.trim ?? NO_TRIM,
                counter,
                sampleRate,
              );
        for await (const piece of pieces) {
          observer?.write(piece.bytes, piece.ms);
          yield piece.bytes;
        }
        await observer?.end();
        results.push({ ...counter });
      }
      resolve(results);
    } catch (error) {
      reject(error);
      throw error;
    }
  }
  return { stream: run(), durations, parts: measured };
}

interface Piece {
  readonly bytes: Buffer;
  readonly ms: number;
}

type Counter = { ms: number; leadDroppedMs: number; trailDroppedMs: number };

/**
 * An MP3 part as whole frames, a tag and VBR header frame dropped, trimmed: frames wholly inside `leadMs` dropped
 * from the front, frames wholly inside `trailMs` from the back (held until the part ends).
 */
async function* mp3Frames(source: AsyncIterable<Uint8Array>, trim: PartTrim, counter: Counter): AsyncGenerator<Piece> {
  const framer = new Mp3Reframer();
  let at = 0;
  let quietBytes = 0;
  const held: Piece[] = [];
  let heldMs = 0;
  for await (const chunk of source) {
    const run = framer.push(chunk);
    if (!run) continue;
    const out: Buffer[] = [];
    let outMs = 0;
    for (let offset = 0; offset < run.length; ) {
      const frame = frameAt(run, offset)!;
      let bytes = run.subarray(offset, offset + frame.length);
      offset += frame.length;
      const ms = (frame.samples / frame.sampleRate) * 1000;
      if (at + ms <= trim.leadMs && counter.ms === 0 && held.length === 0) {
        at += ms;
        counter.leadDroppedMs += ms;
        continue;
      }
      // After a cut, frames a frame or more before the speech carry no data of their own until their bytes cover the
      // reservoir a later frame may reach back into.
      const beforeVoice = at + 2 * ms <= (trim.voiceMs ?? 0);
      if (counter.leadDroppedMs > 0 && beforeVoice && quietBytes < reservoirReach(bytes)) {
        bytes = silencedFrame(bytes);
        quietBytes += payloadBytes(bytes);
      }
      at += ms;
      held.push({ bytes, ms });
      heldMs += ms;
      while (held.length > 0 && heldMs > trim.trailMs + 1e-9) {
        const first = held.shift()!;
        heldMs -= first.ms;
        out.push(first.bytes);
        outMs += first.ms;
      }
    }
    counter.ms += outMs;
    if (out.length) yield { bytes: Buffer.concat(out), ms: outMs };
  }
  counter.trailDroppedMs = heldMs;
}

/** The data chunk of a WAV stream (its header dropped). */
async function* wavData(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
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
    if (take.length) yield take;
    if (remaining === 0) return;
  }
}

/** Whole 16-bit samples in `ms` at `sampleRate`, as bytes. */
function sampleBytes(ms: number, sampleRate: number): number {
  return Math.floor((ms * sampleRate) / 1000) * 2;
}

/** The bytes of a PCM part of `bytes` kept after its trim. */
export function keptPcmBytes(bytes: number, trim: PartTrim | undefined, sampleRate: number): number {
  if (!trim) return bytes;
  const lead = Math.min(bytes, sampleBytes(trim.leadMs, sampleRate));
  return Math.max(0, bytes - lead - sampleBytes(trim.trailMs, sampleRate));
}

async function* pcmSamples(
  source: AsyncIterable<Uint8Array>,
  trim: PartTrim,
  counter: Counter,
  sampleRate: number,
): AsyncGenerator<Piece> {
  let skip = sampleBytes(trim.leadMs, sampleRate);
  const hold = sampleBytes(trim.trailMs, sampleRate);
  const msOf = (bytes: number) => (bytes / 2 / sampleRate) * 1000;
  let held: Buffer = Buffer.alloc(0);
  for await (const chunk of source) {
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (skip > 0) {
      const dropped = Math.min(skip, data.length);
      skip -= dropped;
      counter.leadDroppedMs += msOf(dropped);
      data = data.subarray(dropped);
    }
    if (data.length === 0) continue;
    held = held.length ? Buffer.concat([held, data]) : data;
    // Whole samples only leave; `hold` bytes stay back until the part ends.
    const ready = Math.max(0, held.length - hold) & ~1;
    if (ready === 0) continue;
    const bytes = held.subarray(0, ready);
    held = held.subarray(ready);
    counter.ms += msOf(bytes.length);
    yield { bytes, ms: msOf(bytes.length) };
  }
  counter.trailDroppedMs = msOf(Math.min(held.length, hold));
  // An odd trailing byte (not a sample) is all that can remain beyond the hold: it is dropped as before.
}

/**
 * Shifts each part's cues by the audio before it: the kept durations of the parts before, less what was dropped from
 * the part's own start. A cue is kept within its part's kept audio.
 */
export function shiftCues<T extends { begin_time: number; end_time: number }>(
  parts: readonly (readonly T[])[],
  durations: readonly number[],
  leadsDropped: readonly number[] = [],
): T[] {
  const out: T[] = [];
  let offset = 0;
  parts.forEach((cues, i) => {
    const lead = leadsDropped[i] ?? 0;
    const length = durations[i] ?? Number.POSITIVE_INFINITY;
    const clamp = (ms: number) => Math.max(0, Math.min(ms - lead, length));
    for (const c of cues)
      out.push({
        ...c,
        begin_time: Math.round(clamp(c.begin_time) + offset),
        end_time: Math.round(clamp(c.end_time) + offset),
      });
    offset += durations[i] ?? 0;
  });
  return out;
}
