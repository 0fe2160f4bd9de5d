/**
 * Text longer than one provider request, spoken as one stream: the pieces (cut at sentence ends by the chunker) are
 * synthesized in order, the next one already running while the current one is relayed, and joined into one valid
 * stream: MP3 frames back to back (no second header), one WAV header over the PCM of every piece, or raw PCM.
 *
 * Look-ahead is bounded: the next piece is read ahead into memory up to `lookAheadBytes`, and past that its upstream is
 * simply not read (its socket pauses), so memory stays bounded and a slow client still slows every upstream.
 */
import { type StitchFormat, stitch } from "../audio/stitch.js";
import { wavDataChunk, wavHeader } from "../audio/wav.js";

/** One piece's synthesis, not yet started. */
export type PieceStart = (signal: AbortSignal) => AsyncIterator<Uint8Array>;

/** How much of the next piece is read ahead at most: about 30 s of 16 kHz PCM, minutes of MP3. */
export const LOOK_AHEAD_BYTES = 1024 * 1024;

/**
 * A WAV header for a stream whose length is not known when it starts: the sizes say "as long as the file", the
 * convention of streamed WAV (browsers and ffmpeg play it). The cached copy gets the real sizes (`finalizeWav`).
 */
export function streamingWavHeader(sampleRate: number): Buffer {
  return wavHeader(0xffffffff - 36, sampleRate);
}

/** A whole streamed WAV with its header's sizes set to what the file really holds. */
export function finalizeWav(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  out.writeUInt32LE(out.length - 8, 4);
  // The data chunk is found, not assumed at byte 36: a label's LIST/INFO chunk may come before it.
  const data = wavDataChunk(out);
  if (data) out.writeUInt32LE(out.length - data.offset, data.offset - 4);
  return out;
}

/** Reads a source ahead into a queue of at most `limit` bytes (as `size` weighs items); `next()` serves from it. */
export class ReadAhead<T = Uint8Array> implements AsyncIterator<T> {
  readonly #queue: T[] = [];
  #queued = 0;
  #done = false;
  #error: unknown;
  #reading: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(
    private readonly source: AsyncIterator<T>,
    private readonly limit: number,
    private readonly size: (item: T) => number = (item) => (item as Uint8Array).length,
  ) {
    this.#fill();
  }

  /** Reads while the queue is under its limit; resumes when `next()` takes from it. */
  #fill(): void {
    if (this.#reading || this.#done || this.#queued >= this.limit) return;
    this.#reading = (async () => {
      try {
        while (!this.#done && this.#queued < this.limit) {
          const r = await this.source.next();
          if (r.done) this.#done = true;
          else {
            this.#queue.push(r.value);
            this.#queued += this.size(r.value);
          }
          this.#wake?.();
        }
      } catch (error) {
        this.#error = error;
        this.#done = true;
        this.#wake?.();
      } finally {
        this.#reading = undefined;
      }
    })();
  }

  async next(): Promise<IteratorResult<T>> {
    for (;;) {
      if (this.#queue.length > 0) {
        const item = this.#queue.shift()!;
        this.#queued -= this.size(item);
        this.#fill();
        return { done: false, value: item };
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#done) return { done: true, value: undefined };
      this.#fill();
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }

  async return(): Promise<IteratorResult<T>> {
    this.#done = true;
    this.#queue.length = 0;
    await this.source.return?.();
    return { done: true, value: undefined };
  }
}

/**
 * The pieces as one stream in `format`. Each piece is asked for in `pieceFormat` (`pcm` when the whole is WAV, so
 * only one header is written). Ending the stream early (`return()`, or `signal`) closes every upstream under way.
 */
export function speakPieces(
  format: StitchFormat,
  sampleRate: number,
  pieces: readonly PieceStart[],
  signal: AbortSignal,
  lookAheadBytes = LOOK_AHEAD_BYTES,
): AsyncIterator<Uint8Array> {
  // Aborted at the end, so an upstream read still pending (a piece read ahead) stops instead of holding its socket.
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  const started: (ReadAhead | undefined)[] = pieces.map(() => undefined);
  const start = (i: number): ReadAhead | undefined => {
    if (i >= pieces.length) return undefined;
    started[i] ??= new ReadAhead(pieces[i]!(stop.signal), lookAheadBytes);
    return started[i];
  };
  const parts = pieces.map((_, i) => ({
    open: (): AsyncIterable<Uint8Array> => {
      const current = start(i)!;
      // The next piece's synthesis runs while this one is relayed: no wait at the seam.
      start(i + 1);
      return { [Symbol.asyncIterator]: () => current };
    },
  }));
  const joined = stitch(format === "wav" ? "pcm" : format, parts, sampleRate);
  joined.durations.catch(() => undefined);
  async function* run(): AsyncGenerator<Uint8Array> {
    try {
      if (format === "wav") yield streamingWavHeader(sampleRate);
      yield* joined.stream;
    } finally {
      signal.removeEventListener("abort", onAbort);
      stop.abort(new Error("the stream ended"));
      await Promise.all(started.map((s) => s?.return().catch(() => undefined)));
    }
  }
  return run();
}
