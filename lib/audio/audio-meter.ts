/**
 * How long audio lasts, measured as it streams past unchanged: MP3 by its frames (a tag and a VBR header frame not
 * counted), WAV by its data after the header, PCM by its bytes (16-bit mono).
 */
import { Mp3Reframer } from "./stitch.js";
import { wavDataChunk } from "./wav.js";

export async function* measuring(
  format: "mp3" | "wav" | "pcm",
  sampleRate: number,
  source: AsyncIterable<Uint8Array>,
  counter: { ms: number },
): AsyncGenerator<Uint8Array> {
  const framer = format === "mp3" ? new Mp3Reframer() : undefined;
  let head: Buffer | undefined = format === "wav" ? Buffer.alloc(0) : undefined;
  let bytes = 0;
  for await (const chunk of source) {
    if (framer) {
      framer.push(chunk);
      counter.ms = framer.ms;
    } else if (head) {
      // A WAV's data is counted once its header has been seen whole.
      head = Buffer.concat([head, chunk]);
      const data = wavDataChunk(head);
      if (data && data.offset <= head.length) {
        bytes = head.length - data.offset;
        head = undefined;
      }
    } else bytes += chunk.length;
    if (!framer) counter.ms = (bytes / 2 / sampleRate) * 1000;
    yield chunk;
  }
}
