/**
 * Audio as samples, for measuring what a listener hears (silence and loudness at the joins): MP3 decoded by mpg123
 * (compiled to WebAssembly, in process: no binary to ship to Function Compute), WAV's data and raw PCM read as 16-bit
 * little-endian mono. The decoder is loaded on first use (a chunk of its own), not at a cold start.
 */

export type SampleFormat = "mp3" | "wav" | "pcm";

/** `bytes`: whole MP3 frames, or 16-bit mono PCM (a WAV's data chunk, without its header). Samples in [-1, 1]. */
export async function decodeMono(format: SampleFormat, bytes: Uint8Array): Promise<Float32Array> {
  if (format !== "mp3") {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const samples = new Float32Array(Math.floor(bytes.byteLength / 2));
    for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true) / 32768;
    return samples;
  }
  if (bytes.byteLength === 0) return new Float32Array(0);
  const { MPEGDecoder } = await import("mpg123-decoder");
  const decoder = new MPEGDecoder();
  await decoder.ready;
  try {
    const out = decoder.decode(bytes);
    const channels = out.channelData;
    if (channels.length <= 1) return channels[0] ?? new Float32Array(0);
    // Stereo as one channel: the mean of the two (a join is silent only if both sides are).
    const mono = new Float32Array(out.samplesDecoded);
    for (let i = 0; i < mono.length; i++) mono[i] = (channels[0]![i]! + channels[1]![i]!) / 2;
    return mono;
  } finally {
    decoder.free();
  }
}
