// MP3 encoding for the local cloud's speech (lamejs, a JavaScript port of LAME). Plain JS: the speech worker loads it.
import { Mp3Encoder } from "@breezystack/lamejs";

/**
 * LAME picks its output rate from the bitrate's lowpass unless told otherwise, and lamejs cannot be told: mono 44.1 kHz
 * at 64 kbit/s comes out at 32 kHz, 24 kHz at 32 kbit/s at 22.05 kHz. These bitrates are the lowest that keep the rate
 * asked for, so the frames say what the request said (test/integration/minimax.test.ts checks every rate).
 */
export function mp3Kbps(sampleRate) {
  if (sampleRate >= 32000) return 128;
  if (sampleRate > 22050) return 64;
  return 32;
}

/** 16-bit mono PCM (an Int16Array) as MP3 frames. */
export function encodeMp3(pcm, sampleRate) {
  const encoder = new Mp3Encoder(1, sampleRate, mp3Kbps(sampleRate));
  const parts = [];
  for (let i = 0; i < pcm.length; i += 1152) {
    const out = encoder.encodeBuffer(pcm.subarray(i, i + 1152));
    if (out.length) parts.push(Buffer.from(out.buffer, out.byteOffset, out.length));
  }
  const tail = encoder.flush();
  if (tail.length) parts.push(Buffer.from(tail.buffer, tail.byteOffset, tail.length));
  return Buffer.concat(parts);
}
