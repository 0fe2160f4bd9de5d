/** Which subtitle files a finished job gets, from what was asked and the cues the provider gave. */
import { findNlsVoice } from "../voices/index.js";
import type { Job } from "./schema.js";

/** Which subtitle files a job gets, and why it gets none when it gets none. */
export function subtitleOutcome(job: Job, cues: number): NonNullable<Job["subtitles"]> {
  const requested = job.options.subtitles;
  if (requested.length === 0) {
    const voice = findNlsVoice(job.options.voice);
    const reason =
      voice && !voice.timestamps
        ? `${voice.id} has no timestamps, so no subtitles were made`
        : "no subtitles were asked for";
    return { requested, written: [], reason };
  }
  // A part's subtitles are its parent's to write (the part keeps its cues on its record).
  if (job.parent) return { requested, written: [], reason: "a part's cues are written by its parent" };
  if (cues === 0) return { requested, written: [], reason: "the provider returned no sentence timings for this audio" };
  return { requested, written: [...requested] };
}
