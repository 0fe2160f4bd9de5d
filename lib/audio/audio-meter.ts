/**
 * How long audio lasts, measured as it passes: MP3 by its whole frames (a tag and a VBR header frame not counted),
 * WAV by its data after the header, PCM by its bytes (16-bit mono).
 */
import { Mp3Reframer } from "./mp3-reframer.js";
import { pcmDurationMs, wavDataChunk } from "./wav.js";

/** A WAV header longer than this is not one to wait for: what was held is passed on as it is. */
const MAX_WAV_HEAD = 64 * 1024;

/**
 * Audio measured as it passes: MP3 re-framed into whole frames as in an audio-only stream (a chunk may end mid-frame;
 * no second tag or VBR header), PCM by its bytes, a WAV's own header dropped. Only a WAV header that has begun and not
 * yet ended is held, until its data chunk starts.
 */
export class AudioMeter {
  readonly #framer: Mp3Reframer | undefined;
  #pcmBytes = 0;
  /** A WAV's first bytes while its header is incomplete; undefined once the header has passed (or for MP3 and PCM). */
  #head: Buffer | undefined;

  constructor(
    format: "mp3" | "wav" | "pcm",
    private readonly sampleRate: number,
  ) {
    this.#framer = format === "mp3" ? new Mp3Reframer() : undefined;
    this.#head = format === "wav" ? Buffer.alloc(0) : undefined;
  }

  /** The chunk as it is to be relayed: whole MP3 frames or PCM bytes (undefined while none is complete). */
  push(chunk: Buffer): Buffer | undefined {
    const raw = this.#head ? this.#withoutHeader(chunk) : chunk;
    if (!raw) return undefined;
    if (this.#framer) return this.#framer.push(raw);
    this.#pcmBytes += raw.length;
    return raw;
  }

  /** The length of the audio pushed so far. */
  get ms(): number {
    return this.#framer ? this.#framer.ms : pcmDurationMs(this.#pcmBytes, this.sampleRate);
  }

  /** The audio after a WAV's header, once the header has passed; a stream that is not RIFF (PCM pieces) as it is. */
  #withoutHeader(chunk: Buffer): Buffer | undefined {
    const head = this.#head!.length > 0 ? Buffer.concat([this.#head!, chunk]) : chunk;
    if (head.length < 4 || head.toString("latin1", 0, 4) !== "RIFF") {
      this.#head = undefined;
      return head;
    }
    const data = wavDataChunk(head);
    if (!data && head.length <= MAX_WAV_HEAD) {
      this.#head = head;
      return undefined;
    }
    this.#head = undefined;
    return data ? head.subarray(data.offset) : head;
  }
}

/** `source` unchanged, `counter.ms` kept at the length of the audio passed so far. */
export async function* measuring(
  format: "mp3" | "wav" | "pcm",
  sampleRate: number,
  source: AsyncIterable<Uint8Array>,
  counter: { ms: number },
): AsyncGenerator<Uint8Array> {
  const meter = new AudioMeter(format, sampleRate);
  for await (const chunk of source) {
    meter.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    counter.ms = meter.ms;
    yield chunk;
  }
}
