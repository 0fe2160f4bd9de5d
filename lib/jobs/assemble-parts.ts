/**
 * A job in parts, stored: its parts' audio stitched into one object, the silence at each join trimmed to the voice's
 * own pause, each part's cues shifted by the measured audio before it, and every join measured as the output sounds.
 * A book's narration is stitched to a working copy and made into an audiobook (lib/jobs/assemble-book.ts).
 */
import { labelAudio } from "../audio/label-container.js";
import { SeamProbe } from "../audio/seam-probe.js";
import { type StitchPart, shiftCues, stitch } from "../audio/stitch.js";
import type { Cue } from "../audio/subtitles.js";
import { assembleBook } from "./assemble-book.js";
import { jobLabel } from "./job-label.js";
import { streamOf, wavDataBytes } from "./part-audio.js";
import type { Job } from "./schema.js";
import { type JoinedParts, planJoins, seamReport } from "./seam-report.js";
import { CONTENT_TYPES, finish, type StoreDeps } from "./store-finish.js";

export async function assembleParts(job: Job, deps: StoreDeps): Promise<"done" | "skipped"> {
  if (job.chapters) return assembleBook(job, deps);
  const stitched = await stitchParts(job, deps, job.output.audioKey);
  return finish(job, await deps.storage.head(job.output.audioKey), stitched.cues, deps, stitched.joined);
}

export interface StitchedParts {
  /** Every part's cues, in the stitched audio's time. */
  readonly cues: Cue[];
  readonly joined: JoinedParts & { readonly chapters?: NonNullable<JoinedParts["chapters"]> };
}

/** Stitches `job`'s parts into `target` (labelled), and measures where each part and chapter landed. */
export async function stitchParts(job: Job, deps: StoreDeps, target: string): Promise<StitchedParts> {
  const parts = await Promise.all(job.parts!.map(async (p) => (await deps.jobs.get(p.jobId))!));
  const format = job.options.format;
  const rate = job.options.sampleRate;
  const plan = await planJoins(job, parts, deps);
  const sources: StitchPart[] = await Promise.all(
    parts.map(async (part, i) => ({
      open: () => streamOf(deps.storage, part.output.audioKey),
      trim: plan.trims[i],
      ...(format === "wav"
        ? { dataBytes: await wavDataBytes(deps.storage, part.output.audioKey, part.result?.size ?? 0) }
        : {}),
    })),
  );
  const probe = new SeamProbe(format, rate);
  const stitched = stitch(format, sources, rate, probe);
  const labelled = await labelAudio(format, stitched.stream, jobLabel(job, deps.aigcProducer));
  await deps.storage.putStream(target, labelled.stream, {
    contentType: CONTENT_TYPES[format],
    partSize: deps.partSize,
    meta: { jobid: job.id },
  });
  const kept = await stitched.parts;
  const cues = shiftCues(
    parts.map((p) => p.task?.sentences ?? []),
    kept.map((p) => p.ms),
    kept.map((p) => p.leadDroppedMs),
  );
  let at = 0;
  const partStarts = kept.map((p) => {
    const start = at;
    at += p.ms;
    return start;
  });
  // A chapter runs from its first part to the next chapter's; the first also holds anything before it (a notice).
  const chapters = job.chapters?.map((c, i, all) => ({
    title: c.title,
    startMs: i === 0 ? 0 : Math.round(partStarts[c.part] ?? 0),
    endMs: Math.round(all[i + 1] ? (partStarts[all[i + 1]!.part] ?? at) : at),
  }));
  const seams = seamReport(probe.seams, plan.bounds, kept);
  if (seams.summary.outOfBounds > 0)
    deps.log.warn("joins out of bounds", { jobId: job.id, ...seams.summary, medianPauseMs: plan.medianPauseMs });
  return {
    cues,
    joined: { partStarts, partMs: kept.map((p) => p.ms), seams, ...(chapters ? { chapters } : {}) },
  };
}
