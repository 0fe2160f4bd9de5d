/**
 * The coverage map: which sentence of the input is heard where in the output. Each of the text's sentences is looked
 * for, in order, in the provider's timed sentences (the cues), compared without spaces and punctuation (providers
 * split and punctuate their cues their own way); one no cue holds is reported missing, so a dropped line shows instead
 * of passing silently. Written beside the audio (`<name>.map.json`); the record keeps the count.
 */
import type { Cue } from "../audio/subtitles.js";
import type { Logger } from "../log.js";
import type { Bucket } from "../storage/bucket.js";
import { spokenText } from "../text/index.js";
import { PACE_BAND, PACE_MS, paceBand } from "../text/pace.js";
import { sentenceSpans } from "../text/sentences.js";
import { multiplierFromRate } from "../text/speech-rate.js";
import { estimatedEntries, partTexts } from "./estimated-map.js";
import type { JobRecords } from "./records.js";
import type { Job } from "./schema.js";
import type { JoinedParts } from "./seam-report.js";
import { partAttempt } from "./split-jobs.js";

export interface CoverageEntry {
  readonly index: number;
  readonly text: string;
  /** The sentence's place in the spoken text, in UTF-16 code units: [start, end). */
  readonly range: readonly [number, number];
  readonly heard: boolean;
  readonly beginMs?: number;
  readonly endMs?: number;
  /** For a job in parts: which part's audio holds it. */
  readonly part?: number;
}

export interface Coverage {
  readonly heard: number;
  readonly total: number;
  readonly missing: readonly number[];
}

const normal = (s: string): string => s.replace(/[\s\p{P}\p{S}]/gu, "").toLowerCase();

/** `partStarts`: each part's start in the whole, in ms (a job in parts); a cue belongs to the last part it follows. */
export function coverageMap(
  text: string,
  cues: readonly Cue[],
  partStarts: readonly number[] = [],
): { entries: CoverageEntry[]; coverage: Coverage } {
  // The cues as one normalised stream, each character knowing its cue.
  let stream = "";
  const owner: number[] = [];
  cues.forEach((cue, i) => {
    const n = normal(cue.text);
    stream += n;
    for (let k = 0; k < n.length; k++) owner.push(i);
  });
  const partOf = (ms: number): number | undefined => {
    if (partStarts.length === 0) return undefined;
    let part = 0;
    for (let i = 0; i < partStarts.length; i++) if (ms >= partStarts[i]!) part = i;
    return part;
  };
  const entries: CoverageEntry[] = [];
  let at = 0;
  for (const span of sentenceSpans(text)) {
    const wanted = normal(span.text);
    if (wanted === "") continue;
    const index = entries.length;
    const found = stream.indexOf(wanted, at);
    if (found === -1) {
      entries.push({ index, text: span.text.trim(), range: [span.start, span.end], heard: false });
      continue;
    }
    at = found + wanted.length;
    const first = cues[owner[found]!]!;
    const last = cues[owner[at - 1]!]!;
    const part = partOf(first.begin_time);
    entries.push({
      index,
      text: span.text.trim(),
      range: [span.start, span.end],
      heard: true,
      beginMs: first.begin_time,
      endMs: last.end_time,
      ...(part !== undefined ? { part } : {}),
    });
  }
  const missing = entries.filter((e) => !e.heard).map((e) => e.index);
  return { entries, coverage: { heard: entries.length - missing.length, total: entries.length, missing } };
}

/** `output/a/b.mp3` → `output/a/b.map.json`. */
export function mapKeyFor(audioKey: string): string {
  return `${audioKey.replace(/\.[^./]+$/, "")}.map.json`;
}

/** The job's text as spoken (SSML's markup left out), read from beside its record. */
async function spokenTextOf(
  job: Job,
  deps: { readonly jobs: Pick<JobRecords, "textKey">; readonly storage: Pick<Bucket, "get"> },
): Promise<string | undefined> {
  const body = await deps.storage.get(deps.jobs.textKey(job.id));
  if (!body) return undefined;
  return job.ssml ? spokenText(body.toString("utf8")) : body.toString("utf8");
}

/**
 * The sentences of a part's text its audio does not hold, by the provider's timings (none when it gave none): a part
 * missing one is failed, and its parent replaces it once, as any failed part.
 */
export async function missingSentences(
  job: Job,
  cues: readonly Cue[],
  deps: { readonly jobs: Pick<JobRecords, "textKey">; readonly storage: Pick<Bucket, "get"> },
): Promise<string[]> {
  if (cues.length === 0) return [];
  const text = await spokenTextOf(job, deps);
  if (text === undefined) return [];
  return coverageMap(text, cues).entries.flatMap((e) => (e.heard ? [] : [e.text]));
}

/**
 * Why a part must be made again (the sentences its audio lacks), or undefined. A replacement that lacks them too is
 * kept, and its parent's map says what is missing: how a provider words its timed sentences is not documented to
 * match the text (numbers, say), and such a mismatch must cost one more synthesis, never fail every such book.
 */
export async function partLacking(
  job: Job,
  cues: readonly Cue[],
  deps: {
    readonly jobs: Pick<JobRecords, "textKey">;
    readonly storage: Pick<Bucket, "get">;
    readonly log: Logger;
  },
): Promise<string | undefined> {
  if (!job.parent) return undefined;
  const missing = await missingSentences(job, cues, deps);
  if (missing.length === 0) return undefined;
  return remakeOnce(job, `the audio lacks ${missing.length} sentence(s): ${missing.slice(0, 3).join(" ")}`, deps.log);
}

/** A part's reason to be made again, on its first attempt; a replacement is kept (and the reason logged). */
function remakeOnce(job: Job, reason: string, log: Logger): string | undefined {
  if (partAttempt(job) === 0) return reason;
  log.warn("a replaced part is kept as it is", { jobId: job.id, reason });
  return undefined;
}

/**
 * Writes a finished job's map beside its audio: its sentences where it is heard (when the provider timed them) and
 * its joins (a job in parts). Returns what its record keeps; nothing for a part (its parent maps the whole) or for
 * audio with neither.
 */
export async function writeCoverageMap(
  job: Job,
  cues: readonly Cue[],
  deps: { readonly jobs: Pick<JobRecords, "textKey">; readonly storage: Pick<Bucket, "get" | "put"> },
  joined?: JoinedParts,
): Promise<{ coverage?: Job["coverage"]; mapKey: string } | undefined> {
  if (job.parent || (cues.length === 0 && !joined?.seams)) return undefined;
  const text = cues.length > 0 || joined ? await spokenTextOf(job, deps) : undefined;
  const mapped = text === undefined || cues.length === 0 ? undefined : coverageMap(text, cues, joined?.partStarts);
  // Without timings, a job in parts still gets each sentence's estimated place.
  const estimated =
    text !== undefined && !mapped && joined
      ? estimatedEntries(text, await partTexts(job, deps), joined.partStarts, joined.partMs)
      : undefined;
  const mapKey = mapKeyFor(job.output.audioKey);
  const body = {
    jobId: job.id,
    ...(mapped ? mapped.coverage : {}),
    ...(mapped ? { sentences: mapped.entries } : {}),
    ...(estimated ? { timing: "estimated", sentences: estimated } : {}),
    ...(joined?.chapters ? { chapters: joined.chapters } : {}),
    ...(joined?.seams ? { seams: joined.seams.summary, joins: joined.seams.entries } : {}),
  };
  await deps.storage.put(mapKey, `${JSON.stringify(body, null, 1)}\n`, { contentType: "application/json" });
  if (!mapped) return { mapKey };
  const { coverage } = mapped;
  return {
    mapKey,
    coverage: { heard: coverage.heard, total: coverage.total, missing: coverage.missing.slice(0, 100), mapKey },
  };
}

/**
 * Why a part must be made again because its audio is too short for its text (cut off, where the provider gives no
 * timings to check sentence by sentence), or undefined: under the low edge of its text's pace band (lib/text/pace.ts),
 * which scales with the speech rate. Audio long enough for as many Han characters (the slowest) needs no look at the
 * text; shorter audio has its text read to weigh it. A replacement that is short too is kept, as in `partLacking`.
 */
export async function partTooShort(
  job: Job,
  measuredMs: number,
  deps: {
    readonly jobs: Pick<JobRecords, "textKey">;
    readonly storage: Pick<Bucket, "get">;
    readonly log: Logger;
  },
): Promise<string | undefined> {
  if (!job.parent || job.characters === 0) return undefined;
  const rate = job.options.speechRate ?? 0;
  const slowest = (job.characters * PACE_MS.han * PACE_BAND[0]) / multiplierFromRate(rate);
  if (measuredMs >= slowest) return undefined;
  const text = await spokenTextOf(job, deps);
  if (text === undefined) return undefined;
  const floor = paceBand(text, rate).lowMs;
  if (measuredMs >= floor) return undefined;
  const reason = `the audio lasts ${Math.round(measuredMs)} ms, less than the ${Math.round(floor)} ms its ${job.characters} characters take at the least`;
  return remakeOnce(job, reason, deps.log);
}
