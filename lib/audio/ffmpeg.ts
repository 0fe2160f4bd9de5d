/**
 * FFmpeg as a child process: the encoder and muxer behind audiobooks (MP3 through LAME, AAC in MP4 with a chapter
 * track) and its EBU R 128 scanner. Function Compute's runtimes have FFmpeg built in; locally and in CI it is
 * Debian's package (docs/sources.md, "FFmpeg in Function Compute"). Audio goes through pipes or files in the
 * function's temporary directory, never whole through this process's memory.
 */
import { type ChildProcess, spawn as nodeSpawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { AppError } from "../errors.js";

export interface FfmpegConfig {
  /** The `ffmpeg` binary: a path, or a name looked up on PATH (FFMPEG_PATH). */
  readonly path: string;
}

type Spawn = (command: string, args: readonly string[]) => ChildProcess;

/** FFmpeg could not be started, or ended with an error: the last lines it wrote say why. */
export class FfmpegError extends AppError {
  override name = "FfmpegError";
  constructor(message: string, code = "EncoderFailed") {
    super(message, { statusCode: 500, code });
  }
}

/** How much of FFmpeg's standard error is kept: its last lines carry the reason and the scanners' summaries. */
const STDERR_KEPT = 64 * 1024;

export class Ffmpeg {
  readonly #config: FfmpegConfig;
  readonly #spawn: Spawn;

  constructor(config: FfmpegConfig, spawn: Spawn = (command, args) => nodeSpawn(command, args)) {
    this.#config = config;
    this.#spawn = spawn;
  }

  /** Arguments every run starts with: no banner, no progress, no questions (an existing file is overwritten). */
  static readonly COMMON = ["-hide_banner", "-nostdin", "-nostats", "-y"];

  /**
   * Runs FFmpeg with `args`, `stdin` piped to its input (pipe:0) and its output (pipe:1) piped to `stdout` when given;
   * resolves with what it wrote to standard error (its log), rejects with a FfmpegError naming the reason.
   */
  async run(args: readonly string[], io: { stdin?: Readable; stdout?: Writable } = {}): Promise<string> {
    const child = this.#spawn(this.#config.path, [...Ffmpeg.COMMON, ...args]);
    let log = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      log = (log + chunk).slice(-STDERR_KEPT);
    });
    const ended = new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (code) => resolve(code));
    });
    const flows: Promise<void>[] = [];
    if (io.stdin && child.stdin)
      flows.push(
        pipeline(io.stdin, child.stdin).catch((err: NodeJS.ErrnoException) => {
          // FFmpeg stops reading once it has what it needs (a seek past the end, an error): not our failure.
          if (err.code !== "EPIPE" && err.code !== "ERR_STREAM_PREMATURE_CLOSE") throw err;
        }),
      );
    else child.stdin?.end();
    if (io.stdout && child.stdout) flows.push(pipeline(child.stdout, io.stdout));
    let code: number | null;
    try {
      [code] = await Promise.all([ended, ...flows]);
    } catch (err) {
      child.kill("SIGKILL");
      if ((err as NodeJS.ErrnoException).code === "ENOENT")
        throw new FfmpegError(
          `ffmpeg was not found at "${this.#config.path}" (FFMPEG_PATH): install Debian's ffmpeg package locally; ` +
            "Function Compute's runtimes have it built in",
          "EncoderMissing",
        );
      throw err;
    }
    if (code !== 0) throw new FfmpegError(`ffmpeg ended with ${code}: ${lastLines(log, 4)}`);
    return log;
  }
}

function lastLines(log: string, n: number): string {
  return log.trim().split("\n").slice(-n).join(" | ").slice(0, 600);
}
