/**
 * The independent reading of our outputs: Debian's ffprobe for containers, chapters and tags, and FFmpeg's decoder
 * for samples (measured by the TypeScript meter, not by the ebur128 scanner the pipeline itself uses).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Probed {
  readonly format: { duration: string; bit_rate?: string; tags?: Record<string, string> };
  readonly streams: ReadonlyArray<{
    codec_name: string;
    sample_rate: string;
    channels: number;
    bit_rate?: string;
    disposition?: { attached_pic?: number };
  }>;
  readonly chapters: ReadonlyArray<{ start_time: string; end_time: string; tags?: { title?: string } }>;
}

export async function ffprobe(file: string): Promise<Probed> {
  const { stdout } = await run(
    "ffprobe",
    ["-v", "error", "-show_format", "-show_streams", "-show_chapters", "-of", "json", file],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return JSON.parse(stdout) as Probed;
}

/** The file decoded to mono float samples at `rate` (its own rate when not given); `seek` input options first. */
export async function decodeSamples(file: string, rate?: number, seek: readonly string[] = []): Promise<Float32Array> {
  const { stdout } = await run(
    "ffmpeg",
    ["-v", "error", ...seek, "-i", file, "-ac", "1", ...(rate ? ["-ar", String(rate)] : []), "-f", "f32le", "-"],
    { encoding: "buffer", maxBuffer: 1024 * 1024 * 1024 },
  );
  const bytes = stdout as Buffer;
  return new Float32Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.length / 4));
}
