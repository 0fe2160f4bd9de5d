/**
 * MP3 as a stream of frames, for files too long to hold: the samples its frames carry, counted as the bytes pass, and
 * its frames without the ID3v2 tag in front (chapter files joined into a book keep only the book's tag).
 */
import { frameAt, id3v2Size } from "./mp3.js";

/** The samples in an MP3's frames (after any ID3v2 tag) and their rate; stops at the first byte that is not a frame. */
export async function countMp3Samples(source: AsyncIterable<Uint8Array>): Promise<{ samples: number; rate: number }> {
  let held = Buffer.alloc(0);
  let skip = -1;
  let samples = 0;
  let rate = 0;
  let done = false;
  for await (const chunk of source) {
    if (done) continue;
    held = held.length ? Buffer.concat([held, chunk]) : Buffer.from(chunk);
    if (skip < 0) {
      if (held.length < 10) continue;
      skip = id3v2Size(held);
    }
    if (skip > 0) {
      const n = Math.min(skip, held.length);
      held = held.subarray(n);
      skip -= n;
      if (skip > 0) continue;
    }
    let at = 0;
    for (;;) {
      const frame = frameAt(held, at);
      if (!frame) {
        done = held.length - at >= 4;
        break;
      }
      if (at + frame.length > held.length) break;
      samples += frame.samples;
      rate = frame.sampleRate;
      at += frame.length;
    }
    held = held.subarray(at);
  }
  return { samples, rate };
}

/** `source` without its leading ID3v2 tag, streamed. */
export async function* withoutId3(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let head = Buffer.alloc(0);
  let skip = -1;
  for await (const chunk of source) {
    if (skip === 0) {
      yield chunk;
      continue;
    }
    head = Buffer.concat([head, chunk]);
    if (skip < 0) {
      if (head.length < 10) continue;
      skip = id3v2Size(head);
    }
    const n = Math.min(skip, head.length);
    head = head.subarray(n);
    skip -= n;
    if (skip === 0 && head.length) {
      yield head;
      head = Buffer.alloc(0);
    }
  }
  if (skip !== 0 && head.length) yield head;
}
