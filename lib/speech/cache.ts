/**
 * A content-addressed speech cache in OSS: identical requests of one tenant (same provider, model, voice, format,
 * rate, volume, speed, pitch, exact text, and whether it is text or SSML) are synthesized once. Concurrent identical requests share one upstream synthesis.
 */
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type { Logger } from "../log.js";
import type { OssStorage } from "../storage/oss.js";
import { SHARED_KEEP_BYTES, SharedStream } from "./shared-stream.js";

export interface CacheKeyFields {
  readonly provider: string;
  readonly model: string;
  readonly voice: string;
  readonly format: string;
  readonly sampleRate: number;
  readonly volume: number;
  readonly speechRate: number;
  readonly pitchRate: number;
  readonly text: string;
  /** Text and SSML that read alike are not the same request: `<break/>` is a pause in one and words in the other. */
  readonly kind: "text" | "ssml";
  /** Whose request (the owner digest): one tenant's cached speech is never served to another. */
  readonly tenant: string;
  /** A provider's further options that change the audio (CosyVoice's seed, language, instruction), when given. */
  readonly options?: string;
}

export function cacheKey(fields: CacheKeyFields, prefix = "cache/"): string {
  const canonical = JSON.stringify([
    fields.provider,
    fields.model,
    fields.voice,
    fields.format,
    fields.sampleRate,
    fields.volume,
    fields.speechRate,
    fields.pitchRate,
    fields.text,
    fields.kind,
    fields.tenant,
    // Only when given: every key made before options existed stays the same.
    ...(fields.options === undefined ? [] : [fields.options]),
  ]);
  return `${prefix}${createHash("sha256").update(canonical).digest("hex")}.${fields.format}`;
}

export interface CachedSpeech {
  readonly cache: "hit" | "miss";
  /** Resolves once the first audio chunk exists (or the stream is known to be empty); rejects on an early failure. */
  readonly body: AsyncIterable<Uint8Array>;
}

/**
 * Reads the first chunk now, so a failure before any audio surfaces while the caller can still answer with a clean
 * error; `return()` reaches the source even if iteration never started (a generator wrapper would drop it).
 */
export async function prefetched(source: AsyncIterator<Uint8Array>): Promise<AsyncIterable<Uint8Array>> {
  let first: IteratorResult<Uint8Array> | undefined = await source.next();
  const iterator: AsyncIterator<Uint8Array> = {
    next: async () => {
      if (first) {
        const f = first;
        first = undefined;
        return f;
      }
      return source.next();
    },
    return: async () => {
      first = undefined;
      await source.return?.();
      return { done: true, value: undefined };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

export class SpeechCache {
  /** Per key: the running synthesis, or undefined while a lookup found the object in OSS. Set before any await. */
  readonly #flights = new Map<string, Promise<SharedStream | undefined>>();
  readonly #writes = new Set<Promise<void>>();

  constructor(
    private readonly storage: OssStorage,
    private readonly log: Logger,
    private readonly contentType: (key: string) => string,
    /** The longest audio kept whole for sharing and the cache copy; longer streams are relayed, not cached. */
    private readonly maxKeep = SHARED_KEEP_BYTES,
  ) {}

  /**
   * Serves `key` from OSS if present; otherwise joins or starts the one synthesis for it, writing the result to OSS
   * when it completes (through `finalize`: a streamed WAV gets its real sizes). `start` gets an abort signal that
   * fires when every reader has gone.
   */
  async open(
    key: string,
    start: (signal: AbortSignal) => AsyncIterator<Uint8Array>,
    finalize: (audio: Buffer) => Buffer = (audio) => audio,
  ): Promise<CachedSpeech> {
    let entry = this.#flights.get(key);
    if (!entry) {
      entry = this.#lookupOrStart(key, start, finalize);
      this.#flights.set(key, entry);
      entry.then(
        (flight) => flight ?? this.#flights.delete(key),
        () => this.#flights.delete(key),
      );
    }
    const flight = await entry;
    if (!flight) return { cache: "hit", body: (await this.storage.getStream(key)) as Readable };
    // A synthesis that outgrew what is kept for sharing is no longer joinable: this request gets its own, uncached.
    if (!flight.joinable) {
      const abort = new AbortController();
      const own = new SharedStream(start(abort.signal), () => abort.abort(new Error("the reader left")));
      return { cache: "miss", body: await prefetched(own.reader()) };
    }
    return { cache: "miss", body: await prefetched(flight.reader()) };
  }

  async #lookupOrStart(
    key: string,
    start: (signal: AbortSignal) => AsyncIterator<Uint8Array>,
    finalize: (audio: Buffer) => Buffer,
  ): Promise<SharedStream | undefined> {
    if (await this.storage.head(key)) return undefined;
    const abort = new AbortController();
    const flight = new SharedStream(
      start(abort.signal),
      () => abort.abort(new Error("all readers left")),
      this.maxKeep,
      // Too long to keep whole: not cached, and identical requests from now on start their own synthesis.
      () => this.#flights.delete(key),
    );
    const write = flight.finished.then(async (chunks) => {
      try {
        if (chunks && chunks.length > 0)
          await this.storage.put(key, finalize(Buffer.concat(chunks)), {
            ifAbsent: true,
            contentType: this.contentType(key),
          });
      } catch (error) {
        this.log.warn("cache write failed", { key, error });
      } finally {
        this.#flights.delete(key);
      }
    });
    this.#writes.add(write);
    void write.finally(() => this.#writes.delete(write));
    return flight;
  }

  /** Waits for cache writes under way, so a shutdown does not cut them off. */
  async drain(): Promise<void> {
    await Promise.all([...this.#writes]);
  }
}
