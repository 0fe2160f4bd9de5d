/** SRT and WebVTT from sentence timestamps (milliseconds), as the providers report them. */

export interface Cue {
  readonly text: string;
  readonly begin_time: number;
  readonly end_time: number;
}

function clock(ms: number, separator: "," | "."): string {
  const t = Math.max(0, Math.round(ms));
  const h = Math.floor(t / 3_600_000);
  const m = Math.floor((t % 3_600_000) / 60_000);
  const s = Math.floor((t % 60_000) / 1000);
  const pad = (n: number, w = 2): string => String(n).padStart(w, "0");
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(t % 1000, 3)}`;
}

/** Cue text on one line: a blank line would end the cue early in both formats. */
const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, " ").trim();

export function toSrt(cues: readonly Cue[]): string {
  return cues
    .filter((c) => oneLine(c.text))
    .map((c, i) => `${i + 1}\n${clock(c.begin_time, ",")} --> ${clock(c.end_time, ",")}\n${oneLine(c.text)}\n`)
    .join("\n");
}

export function toVtt(cues: readonly Cue[]): string {
  // "-->" inside cue text would be read as a timing line.
  const body = cues
    .filter((c) => oneLine(c.text))
    .map((c) => `${clock(c.begin_time, ".")} --> ${clock(c.end_time, ".")}\n${oneLine(c.text).replace(/-->/g, "->")}\n`)
    .join("\n");
  return `WEBVTT\n\n${body}`;
}
