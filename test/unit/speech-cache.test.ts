/** The speech cache: one synthesis per text however many ask at once, kept in OSS, served again from there. */
import { describe, expect, it } from "vitest";
import { createLogger } from "../../lib/log.js";
import { cacheKey, SpeechCache } from "../../lib/speech/cache.js";
import { MemoryBucket } from "../../lib/storage/bucket.js";

const log = createLogger({ level: "error", write: () => undefined });

async function readAll(body: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString();
}

/** A synthesis that yields `parts` and counts how often it was started. */
function synthesis(parts: string[]) {
  const started = { count: 0 };
  const start = (_signal: AbortSignal): AsyncIterator<Uint8Array> => {
    started.count++;
    return (async function* () {
      for (const p of parts) yield Buffer.from(p);
    })();
  };
  return { start, started };
}

describe("the speech cache", () => {
  it("synthesizes once, keeps the audio in OSS, and serves it from there after", async () => {
    const storage = new MemoryBucket();
    const cache = new SpeechCache(storage as never, log, () => "audio/mpeg");
    const { start, started } = synthesis(["he", "llo"]);
    const first = await cache.open("cache/a.mp3", start);
    expect(first.cache).toBe("miss");
    expect(await readAll(first.body)).toBe("hello");
    await cache.drain();
    expect(storage.peek("cache/a.mp3")?.toString()).toBe("hello");
    const again = await cache.open("cache/a.mp3", start);
    expect(again.cache).toBe("hit");
    expect(await readAll(again.body)).toBe("hello");
    expect(started.count).toBe(1);
  });

  it("shares one synthesis between requests for the same key that arrive together", async () => {
    const cache = new SpeechCache(new MemoryBucket() as never, log, () => "audio/mpeg");
    const { start, started } = synthesis(["a", "b", "c"]);
    const [x, y] = await Promise.all([cache.open("cache/b.mp3", start), cache.open("cache/b.mp3", start)]);
    expect(await Promise.all([readAll(x.body), readAll(y.body)])).toEqual(["abc", "abc"]);
    expect(started.count).toBe(1);
    await cache.drain();
  });

  it("keeps a failed cache write to a log line: the speech was served", async () => {
    const storage = new MemoryBucket();
    storage.put = async () => {
      throw new Error("OSS down");
    };
    const cache = new SpeechCache(storage as never, log, () => "audio/mpeg");
    const { start } = synthesis(["ok"]);
    expect(await readAll((await cache.open("cache/c.mp3", start)).body)).toBe("ok");
    await expect(cache.drain()).resolves.toBeUndefined();
  });

  it("keys by every field that changes the audio, the tenant and whether the text is SSML", () => {
    const base = {
      provider: "nls",
      model: "",
      voice: "siqi",
      format: "mp3",
      sampleRate: 16000,
      volume: 50,
      speechRate: 0,
      pitchRate: 0,
      text: "<speak>好</speak>",
      kind: "text" as const,
      tenant: "a",
    };
    const key = cacheKey(base);
    expect(key).toMatch(/^cache\/[0-9a-f]{64}\.mp3$/);
    expect(cacheKey({ ...base, kind: "ssml" })).not.toBe(key);
    expect(cacheKey({ ...base, tenant: "b" })).not.toBe(key);
    expect(cacheKey({ ...base, volume: 51 })).not.toBe(key);
    expect(cacheKey(base)).toBe(key);
  });
});
