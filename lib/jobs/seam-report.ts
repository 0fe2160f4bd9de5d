/**
 * The joins of a job in parts: each part's edges measured from its stored audio (two ranged reads), the trims that
 * keep every pause within its bound (lib/audio/seam-plan.ts), and, once stitched, the report of every join as the
 * output sounds (lib/audio/seam-probe.ts) with its bounds: pause at most max(1.5 × the voice's median sentence pause,
 * the text's <break> there), loudness step at most 1.5 LU, no click.
 */

import { frameAt, id3v2Size } from "../audio/mp3.js";
import { edgeReadBytes, measureEdges, type PartEdges } from "../audio/part-edges.js";
import { planSeams, type SeamBound } from "../audio/seam-plan.js";
import type { SeamMeasure } from "../audio/seam-probe.js";
import type { PartTrim, StitchedPart } from "../audio/stitch.js";
import type { Cue } from "../audio/subtitles.js";
import { wavDataChunk } from "../audio/wav.js";
import type { StreamingBucket } from "../storage/bucket.js";
import { edgeBreaksMs } from "../text/edge-breaks.js";
import type { JobRecords } from "./records.js";
import type { Job } from "./schema.js";

/** The most a join's loudness may step, in LU. */
export const LOUDNESS_STEP_BOUND_LU = 1.5;
/** A peak at the join above this, inside a pause, is a click. */
export const CLICK_DBFS = -40;
/** The voice's sentence pause assumed where the provider times no sentences to measure it from. */
export const DEFAULT_SENTENCE_PAUSE_MS = 400;

/** A peak above CLICK_DBFS at a join that lies inside a pause. */
const isClick = (m: SeamMeasure): boolean => m.joinPeakDbfs > CLICK_DBFS && m.pauseMs >= 40;

export interface SeamEntry extends SeamMeasure {
  readonly boundMs: number;
  /** Silence trimmed at this join (from the end of the part before and the start of the part after), in ms. */
  readonly trimmedMs: number;
  readonly ok: boolean;
}

export interface SeamSummary {
  readonly joins: number;
  readonly outOfBounds: number;
  readonly worstPauseOverBoundMs: number;
  readonly worstLoudnessStepLu?: number;
  readonly clicks: number;
  readonly trimmedMs: number;
}

export interface JoinedParts {
  /** Each part's start in the whole, in ms. */
  readonly partStarts: readonly number[];
  /** Each part's kept length in the whole, in ms. */
  readonly partMs: readonly number[];
  readonly seams?: { readonly entries: readonly SeamEntry[]; readonly summary: SeamSummary };
  /** A book's chapters where they are heard. */
  readonly chapters?: ReadonlyArray<{ readonly title: string; readonly startMs: number; readonly endMs: number }>;
}

/** The median gap between consecutive timed sentences inside the parts: the voice's own pause at this rate. */
export function medianSentencePause(partCues: readonly (readonly Cue[])[]): number {
  const gaps: number[] = [];
  for (const cues of partCues)
    for (let i = 1; i < cues.length; i++) gaps.push(cues[i]!.begin_time - cues[i - 1]!.end_time);
  if (gaps.length < 3) return DEFAULT_SENTENCE_PAUSE_MS;
  gaps.sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)]!;
}

/** A stored part's edges, from its first and last seconds. */
async function edgesOf(storage: StreamingBucket, part: Job, format: "mp3" | "wav" | "pcm"): Promise<PartEdges> {
  const key = part.output.audioKey;
  const size = part.result?.size ?? (await storage.head(key))?.size ?? 0;
  const rate = part.options.sampleRate;
  if (size === 0) return { leadMs: 0, trailMs: 0, voiced: false };
  const read = (start: number, end: number) => storage.getRange(key, Math.max(0, start), Math.min(size, end) - 1);
  if (format === "mp3") {
    let head = await read(0, 32 * 1024);
    const first = frameAt(head, id3v2Size(head));
    const perSecond = first ? (first.length * first.sampleRate) / first.samples : 40_000;
    const want = id3v2Size(head) + edgeReadBytes(perSecond);
    if (want > head.length && size > head.length) head = await read(0, want);
    return measureEdges("mp3", head, await read(size - edgeReadBytes(perSecond), size), rate);
  }
  let dataStart = 0;
  let dataEnd = size;
  if (format === "wav") {
    const chunk = wavDataChunk(await read(0, 4096));
    if (!chunk) return { leadMs: 0, trailMs: 0, voiced: false };
    dataStart = chunk.offset;
    dataEnd = Math.min(size, chunk.offset + chunk.size);
  }
  const bytes = edgeReadBytes(rate * 2) - 8192;
  const head = await read(dataStart, Math.min(dataEnd, dataStart + bytes));
  const tailStart = Math.max(dataStart, dataEnd - bytes);
  // The tail starts on a whole sample, counted from the data's start.
  const tail = await read(tailStart + ((tailStart - dataStart) % 2), dataEnd);
  return measureEdges("pcm", head, tail, rate);
}

/** The trims each part gets before stitching, and each join's bound. */
export async function planJoins(
  job: Job,
  parts: readonly Job[],
  deps: { readonly storage: StreamingBucket; readonly jobs: Pick<JobRecords, "textKey"> },
): Promise<{ trims: PartTrim[]; bounds: SeamBound[]; medianPauseMs: number }> {
  const format = job.options.format;
  const edges: PartEdges[] = [];
  // A few at a time: two ranged reads each.
  for (let i = 0; i < parts.length; i += 8)
    edges.push(...(await Promise.all(parts.slice(i, i + 8).map((p) => edgesOf(deps.storage, p, format)))));
  const medianPauseMs = medianSentencePause(parts.map((p) => p.task?.sentences ?? []));
  const breaks = job.ssml ? await joinBreaks(parts, deps) : [];
  return { ...planSeams(edges, medianPauseMs, breaks), medianPauseMs };
}

/** The <break> asked for at each join: at the end of the part before it plus the start of the part after. */
async function joinBreaks(
  parts: readonly Job[],
  deps: { readonly storage: StreamingBucket; readonly jobs: Pick<JobRecords, "textKey"> },
): Promise<number[]> {
  const texts = await Promise.all(
    parts.map(async (p) => (await deps.storage.get(deps.jobs.textKey(p.id)))?.toString("utf8") ?? ""),
  );
  const edges = texts.map(edgeBreaksMs);
  return edges.slice(1).map((next, i) => edges[i]!.trailMs + next.leadMs);
}

/** The report of every join, as measured in the output, against its bound. */
export function seamReport(
  measured: readonly SeamMeasure[],
  bounds: readonly SeamBound[],
  kept: readonly StitchedPart[],
): NonNullable<JoinedParts["seams"]> {
  const entries = measured.map((m): SeamEntry => {
    const boundMs = bounds.find((b) => b.after === m.after)?.boundMs ?? Number.POSITIVE_INFINITY;
    const trimmedMs = Math.round((kept[m.after]?.trailDroppedMs ?? 0) + (kept[m.after + 1]?.leadDroppedMs ?? 0));
    const ok = m.pauseMs <= boundMs && (m.loudnessStepLu ?? 0) <= LOUDNESS_STEP_BOUND_LU && !isClick(m);
    return { ...m, boundMs, trimmedMs, ok };
  });
  const steps = entries.flatMap((e) => (e.loudnessStepLu === undefined ? [] : [e.loudnessStepLu]));
  return {
    entries,
    summary: {
      joins: entries.length,
      outOfBounds: entries.filter((e) => !e.ok).length,
      worstPauseOverBoundMs: Math.max(0, ...entries.map((e) => e.pauseMs - e.boundMs)),
      ...(steps.length ? { worstLoudnessStepLu: Math.max(...steps) } : {}),
      clicks: entries.filter(isClick).length,
      trimmedMs: Math.round(kept.reduce((s, p) => s + p.leadDroppedMs + p.trailDroppedMs, 0)),
    },
  };
}
