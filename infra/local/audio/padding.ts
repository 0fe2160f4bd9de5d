/** Silence put before a synthesis's audio, as a provider that pads its output would (an emulator fault). */
import { frameAt, id3v2Size } from "../../../lib/audio/mp3.js";
import { wavHeader } from "../../../lib/audio/wav.js";

/**
 * `pieces` (the audio as written: a WAV's header first) with `ms` of silence before the audio. MP3: frames with the
 * first frame's header and nothing after it (no side information, no data), which decode to silence.
 */
export function padWithSilence(
  pieces: readonly Buffer[],
  format: "mp3" | "wav" | "pcm",
  sampleRate: number,
  ms: number,
): Buffer[] {
  if (format !== "mp3") {
    const silence = Buffer.alloc(Math.round((ms * sampleRate) / 1000) * 2);
    if (format === "pcm") return [silence, ...pieces];
    const data = pieces.slice(1).reduce((n, p) => n + p.length, 0);
    return [wavHeader(data + silence.length, sampleRate), silence, ...pieces.slice(1)];
  }
  const whole = Buffer.concat(pieces);
  const first = frameAt(whole, id3v2Size(whole));
  if (!first) return [...pieces];
  const header = Buffer.from(whole.subarray(first.offset, first.offset + 4));
  header[2] = header[2]! & ~0x02;
  const frame = Buffer.alloc(frameAt(Buffer.concat([header, Buffer.alloc(4096)]), 0)!.length);
  header.copy(frame);
  const count = Math.round(ms / ((first.samples / first.sampleRate) * 1000));
  return [Buffer.allocUnsafe(frame.length * count).fill(frame), ...pieces];
}
