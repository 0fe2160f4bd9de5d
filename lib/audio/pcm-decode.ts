/**
 * Audio as samples, for measuring what a listener hears (silence and loudness at the joins): MP3 decoded by mpg123
 * (compiled to WebAssembly, in process: no binary to ship to Function Compute), WAV's data and raw PCM read as 16-bit
 * little-endian mono. The decoder is loaded on first use (a chunk of its own, not at a cold start) and kept: making
 * one costs more than decoding seconds of audio. Its uses take turns, each from a reset state.
 */
import type { MPEGDecoder } from "mpg123-decoder";

export type SampleFormat = "mp3" | "wav" | "pcm";

let decoder: Promise<MPEGDecoder> | undefined;
/** The end of the last use of the decoder: the next one starts after it. */
let turn: Promise<unknown> = Promise.resolve();

async function mp3Decoder(): Promise<MPEGDecoder> {
  decoder ??= import("mpg123-decoder").then(async ({ MPEGDecoder }) => {
    const made = new MPEGDecoder();
    await made.ready;
    return made;
  });
  return decoder;
}

/** `bytes`: whole MP3 frames, or 16-bit mono PCM (a WAV's data chunk, without its header). Samples in [-1, 1]. */
export async function decodeMono(format: SampleFormat, bytes: Uint8Array): Promise<Float32Array> {
  if (format !== "mp3") {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const samples = new Float32Array(Math.floor(bytes.byteLength / 2));
    for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true) / 32768;
    return samples;
  }
  if (bytes.byteLength === 0) return new Float32Array(0);
  const mine = turn.then(async () => {
    const mpg123 = await mp3Decoder();
    await mpg123.reset();
    const out = mpg123.decode(bytes);
    const channels = out.channelData;
    // Copied: the decoder's output is a view of its memory, reused by the next decode.
    if (channels.length <= 1) return Float32Array.from(channels[0] ?? []);
    // Stereo as one channel: the mean of the two (a join is silent only if both sides are).
    const mono = new Float32Array(out.samplesDecoded);
    for (let i = 0; i < mono.length; i++) mono[i] = (channels[0]![i]! + channels[1]![i]!) / 2;
    return mono;
  });
  turn = mine.catch(() => undefined);
  return mine;
}
