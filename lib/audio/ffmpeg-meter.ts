/**
 * A stretch of audio measured by FFmpeg as it decodes it, in one pass and in streaming memory: integrated loudness and
 * true peak from its `ebur128` scanner (ITU-R BS.1770-4 / EBU R 128, the true peak oversampled), RMS and the quietest
 * half second's RMS (the noise floor between the words) from `astats`. The figures are read from the summaries the
 * two filters print when the input ends. The pure TypeScript meter (lib/audio/conformance.ts) agrees with these on
 * the same audio and checks them in the tests.
 */
import type { ChapterFigures } from "./conformance.js";
import { type Ffmpeg, FfmpegError } from "./ffmpeg.js";

/** The filter chain: astats' window is the noise floor's half second; the scanner logs per frame only at verbose. */
export const METER_FILTER =
  "astats=length=0.5:measure_perchannel=none:measure_overall=RMS_level+RMS_trough+Peak_level," +
  "ebur128=peak=true:framelog=verbose";

/** Measures the audio FFmpeg reads with `input` (its input arguments, e.g. ["-ss", "12.5", "-i", "file.mp3"]). */
export async function measureWithFfmpeg(ffmpeg: Ffmpeg, input: readonly string[]): Promise<ChapterFigures> {
  const log = await ffmpeg.run([...input, "-vn", "-af", METER_FILTER, "-f", "null", "-"]);
  return parseMeterLog(log);
}

const number = (text: string): number => (/^-?inf$/i.test(text) ? Number.NEGATIVE_INFINITY : Number(text));

/** The figures in FFmpeg's log of METER_FILTER: `I:` and `Peak:` from ebur128's summary, astats' overall lines. */
export function parseMeterLog(log: string): ChapterFigures {
  const summary = log.slice(log.lastIndexOf("Summary:"));
  const pick = (text: string, pattern: RegExp, what: string): number => {
    const m = pattern.exec(text);
    if (!m) throw new FfmpegError(`ffmpeg's log has no ${what}`, "MeterFailed");
    return number(m[1]!);
  };
  const value = /(-?(?:inf|\d+(?:\.\d+)?))/.source;
  return {
    integratedLufs: pick(summary, new RegExp(`\\bI:\\s+${value} LUFS`), "integrated loudness"),
    truePeakDbtp: pick(summary, new RegExp(`\\bPeak:\\s+${value} dBFS`), "true peak"),
    rmsDbfs: pick(log, new RegExp(`RMS level dB: ${value}`), "RMS level"),
    noiseFloorDbfs: pick(log, new RegExp(`RMS trough dB: ${value}`), "RMS trough"),
  };
}
