/**
 * The end of the `store` step for every kind of job: the stored audio checked, its label sidecar, the subtitles and
 * the coverage map written, the job marked done once (whatever the number of runs).
 */

import type { Ffmpeg } from "../audio/ffmpeg.js";
import { type Cue, toSrt, toVtt } from "../audio/subtitles.js";
import { UpstreamError } from "../errors.js";
import type { Logger } from "../log.js";
import type { StreamingBucket } from "../storage/bucket.js";
import type { ObjectInfo } from "../storage/oss.js";
import { partLacking, writeCoverageMap } from "./coverage-map.js";
import { writeLabelSidecar } from "./job-label.js";
import type { JobRecords } from "./records.js";
import { type Job, transition } from "./schema.js";
import type { JoinedParts } from "./seam-report.js";
import type { JobService } from "./service.js";
import { subtitleOutcome } from "./subtitle-outcome.js";

export interface StoreDeps {
  readonly jobs: JobRecords;
  readonly service: JobService;
  readonly storage: StreamingBucket;
  readonly log: Logger;
  /** Hosts audio may come from: `host[:port]` exactly, or `*.suffix` (an SSRF guard). */
  readonly audioHosts: readonly string[];
  readonly partSize?: number;
  readonly now?: () => Date;
  /** Who the AI-generated-content label names as the service provider (AIGC_PROVIDER_NAME). */
  readonly aigcProducer?: string;
  /** The encoder and muxer that make a book's audiobook (lib/jobs/render-audiobook.ts). */
  readonly ffmpeg?: Ffmpeg;
  /** Where FFmpeg's working files go (the function's /tmp). */
  readonly workDir?: string;
  /** A book's chapters encoded at once, one FFmpeg each. */
  readonly renderConcurrency?: number;
}

export const CONTENT_TYPES: Record<string, string> = {
  mp3: "audio/mpeg",
  wav: "audio/wav",
  pcm: "application/octet-stream",
};

/** Checks the stored audio, writes the subtitles and marks the job done (once, whatever the number of runs). */
export async function finish(
  job: Job,
  stored: ObjectInfo | undefined,
  sentences: readonly Cue[],
  deps: StoreDeps,
  joined?: JoinedParts,
  /** More of the record, written with `stored` (a book's outputs). */
  patch: Partial<Job> = {},
): Promise<"done" | "skipped"> {
  if (!stored || stored.size === 0)
    throw new UpstreamError({
      provider: job.provider,
      code: "AudioMissing",
      upstreamMessage: `no audio at ${job.output.audioKey}`,
      retryable: true,
    });
  await writeLabelSidecar(job, deps.storage, deps.aigcProducer);
  const cues = sentences.map((s) => ({ text: s.text, begin_time: s.begin_time, end_time: s.end_time }));
  // A part whose audio lacks a sentence of its text is failed, not stitched: its parent replaces it once.
  const lacking = await partLacking(job, cues, deps);
  if (lacking) {
    await deps.service.fail(job, "MissingSentences", lacking);
    return "done";
  }
  // Subtitle files are written only with cues in them: an empty .srt is never a result. Whatever happens is recorded.
  const subtitles = subtitleOutcome(job, cues.length);
  if (subtitles.written.includes("srt") && job.output.srtKey)
    await deps.storage.put(job.output.srtKey, toSrt(cues), { contentType: "application/x-subrip; charset=utf-8" });
  if (subtitles.written.includes("vtt") && job.output.vttKey)
    await deps.storage.put(job.output.vttKey, toVtt(cues), { contentType: "text/vtt; charset=utf-8" });
  const output = {
    audioKey: job.output.audioKey,
    ...(subtitles.written.includes("srt") ? { srtKey: job.output.srtKey } : {}),
    ...(subtitles.written.includes("vtt") ? { vttKey: job.output.vttKey } : {}),
  };
  const map = await writeCoverageMap(job, cues, deps, joined);
  const now = deps.now?.() ?? new Date();
  const latest = (await deps.jobs.get(job.id)) ?? job;
  const storedJob =
    latest.state === "synthesized"
      ? transition(
          latest,
          "stored",
          {
            ...patch,
            result: { size: stored.size, storedAt: now.toISOString() },
            subtitles,
            output,
            ...(map?.coverage ? { coverage: map.coverage } : {}),
            ...(joined?.seams && map ? { seams: { ...joined.seams.summary, mapKey: map.mapKey } } : {}),
          },
          now,
        )
      : latest;
  if (!storedJob || storedJob.state === "done") return "skipped";
  const done = transition(storedJob, "done", {}, now);
  if (done) await deps.jobs.put(done);
  deps.log.info("job done", { jobId: job.id, audioKey: job.output.audioKey, bytes: stored.size, cues: cues.length });
  // A finished part may free a slot for the next part or complete its parent; a batch item counts toward its batch.
  if (done) await deps.service.ended(done);
  return "done";
}
