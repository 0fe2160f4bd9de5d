/**
 * A job in parts, stored: its parts' audio stitched into one object, the silence at each join trimmed to the voice's
 * own pause, each part's cues shifted by the measured audio before it, and every join measured as the output sounds.
 * A book's chapters start at the parts they start with; an MP3 book carries them in its ID3 tag, and every book's
 * map lists them.
 */
import { chapterFrames } from "../audio/id3-chapters.js";
import { labelAudio } from "../audio/label-container.js";
import { SeamProbe } from "../audio/seam-probe.js";
import { type StitchPart, shiftCues, stitch } from "../audio/stitch.js";
import { jobLabel } from "./job-label.js";
import { streamOf, wavDataBytes } from "./part-audio.js";
import type { Job } from "./schema.js";
import { planJoins, seamReport } from "./seam-report.js";
import { CONTENT_TYPES, finish, type StoreDeps } from "./store-finish.js";

export async function assembleParts(job: Job, deps: StoreDeps): Promise<"done" | "skipped"> {
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
  // A book in MP3 gets its chapters in its tag, at the file's start: they are known once the parts are measured, so the
  // whole is stitched to a working copy first, then written to its key with its chapters (one more copy, books only).
  const chaptered = format === "mp3" && (job.chapters?.length ?? 0) > 1;
  const target = chaptered ? deps.jobs.assemblyKey(job.id, format) : job.output.audioKey;
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
  const chapters = job.chapters?.map((c, i, all) => ({
    title: c.title,
    startMs: Math.round(partStarts[c.part] ?? 0),
    endMs: Math.round(all[i + 1] ? (partStarts[all[i + 1]!.part] ?? at) : at),
  }));
  if (chaptered) {
    const tagged = await labelAudio(
      "mp3",
      streamOf(deps.storage, target),
      jobLabel(job, deps.aigcProducer),
      chapterFrames(chapters!),
    );
    await deps.storage.putStream(job.output.audioKey, tagged.stream, {
      contentType: CONTENT_TYPES[format],
      partSize: deps.partSize,
      meta: { jobid: job.id },
    });
    await deps.storage.delete(target);
  }
  const seams = seamReport(probe.seams, plan.bounds, kept);
  if (seams.summary.outOfBounds > 0)
    deps.log.warn("joins out of bounds", { jobId: job.id, ...seams.summary, medianPauseMs: plan.medianPauseMs });
  return finish(job, await deps.storage.head(job.output.audioKey), cues, deps, {
    partStarts,
    partMs: kept.map((p) => p.ms),
    seams,
    ...(chapters ? { chapters } : {}),
  });
}
