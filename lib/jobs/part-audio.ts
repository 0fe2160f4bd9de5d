/** A part's stored audio as stitching reads it: streamed, and a WAV's data size from its first bytes. */
import { wavDataChunk } from "../audio/wav.js";
import { UpstreamError } from "../errors.js";
import type { StreamingBucket } from "../storage/bucket.js";

export async function* streamOf(storage: StreamingBucket, key: string): AsyncGenerator<Uint8Array> {
  for await (const chunk of await storage.getStream(key)) yield chunk as Uint8Array;
}

/** The declared size of a WAV part's data chunk, read from its first bytes. */
export async function wavDataBytes(storage: StreamingBucket, key: string, size: number): Promise<number> {
  const data = wavDataChunk(await storage.getRange(key, 0, Math.min(size, 4096) - 1));
  if (!data)
    throw new UpstreamError({
      provider: "oss",
      code: "InvalidWav",
      upstreamMessage: `${key} has no WAV data chunk in its first 4 KiB`,
      retryable: false,
    });
  return Math.min(data.size, size - data.offset);
}
