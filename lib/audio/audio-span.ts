/** The first or last stretch of audio, `windowMs` long: whole MP3 frames (at least the window), or whole samples. */
import { frameAt } from "./mp3.js";

/** `bytes`: MP3 frames back to back, or 16-bit mono PCM. Answers the stretch and how long it lasts. */
export function audioSpan(
  format: "mp3" | "pcm",
  bytes: Uint8Array,
  sampleRate: number,
  windowMs: number,
  which: "first" | "last",
): { bytes: Uint8Array; ms: number } {
  if (format !== "mp3") {
    const whole = bytes.byteLength & ~1;
    const want = Math.min(whole, Math.floor((sampleRate * windowMs) / 1000) * 2);
    const span = which === "first" ? bytes.subarray(0, want) : bytes.subarray(whole - want, whole);
    return { bytes: span, ms: (span.byteLength / 2 / sampleRate) * 1000 };
  }
  const frames: Array<{ offset: number; ms: number }> = [];
  for (let offset = 0, frame = frameAt(bytes, 0); frame; frame = frameAt(bytes, offset)) {
    frames.push({ offset, ms: (frame.samples / frame.sampleRate) * 1000 });
    offset += frame.length;
  }
  let ms = 0;
  let count = 0;
  const ordered = which === "first" ? frames : [...frames].reverse();
  while (count < ordered.length && ms < windowMs) ms += ordered[count++]!.ms;
  if (which === "first") return { bytes: bytes.subarray(0, frames[count]?.offset ?? bytes.byteLength), ms };
  return { bytes: bytes.subarray(frames[frames.length - count]?.offset ?? 0), ms };
}
