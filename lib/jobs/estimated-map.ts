/**
 * Where each sentence is heard when the provider times none (MiniMax, NLS voices without timestamps): estimated, not
 * measured. Each part's sentences are spread over its measured audio in proportion to their calibrated pace
 * (lib/text/pace.ts), so an estimate is never off by more than one part's drift, however long the book. Marked
 * `estimated` in the map; the record claims no coverage from it.
 */
import type { Bucket } from "../storage/bucket.js";
import { spokenText } from "../text/index.js";
import { pacedMs } from "../text/pace.js";
import { sentenceSpans } from "../text/sentences.js";
import type { CoverageEntry } from "./coverage-map.js";
import type { JobRecords } from "./records.js";
import type { Job } from "./schema.js";

export interface EstimatedEntry extends Omit<CoverageEntry, "heard"> {
  readonly estimated: true;
}

/**
 * `text`: the whole job's spoken text. `partTexts[i]` is part i's spoken text, heard from `partStarts[i]` for
 * `partMs[i]` ms. A part whose text is not in the whole (the audible notice) is passed over.
 */
export function estimatedEntries(
  text: string,
  partTexts: readonly string[],
  partStarts: readonly number[],
  partMs: readonly number[],
): EstimatedEntry[] {
  const entries: EstimatedEntry[] = [];
  let cursor = 0;
  partTexts.forEach((partText, part) => {
    const trimmed = partText.trim();
    const offset = trimmed ? text.indexOf(trimmed, cursor) : -1;
    if (offset === -1) return;
    cursor = offset + trimmed.length;
    const spans = sentenceSpans(trimmed).filter((s) => s.text.trim() !== "");
    const weights = spans.map((s) => Math.max(1, pacedMs(s.text)));
    const total = weights.reduce((a, b) => a + b, 0);
    let at = partStarts[part] ?? 0;
    spans.forEach((span, i) => {
      const ms = ((partMs[part] ?? 0) * weights[i]!) / total;
      entries.push({
        index: entries.length,
        text: span.text.trim(),
        range: [offset + span.start, offset + span.end],
        beginMs: Math.round(at),
        endMs: Math.round(at + ms),
        part,
        estimated: true,
      });
      at += ms;
    });
  });
  return entries;
}

/** The parts' spoken texts, read from beside their records, a few at a time. */
export async function partTexts(
  job: Job,
  deps: { readonly jobs: Pick<JobRecords, "textKey">; readonly storage: Pick<Bucket, "get"> },
): Promise<string[]> {
  const texts: string[] = [];
  const parts = job.parts ?? [];
  for (let i = 0; i < parts.length; i += 8)
    texts.push(
      ...(await Promise.all(
        parts.slice(i, i + 8).map(async (p) => {
          const body = (await deps.storage.get(deps.jobs.textKey(p.jobId)))?.toString("utf8") ?? "";
          return job.ssml ? spokenText(body) : body;
        }),
      )),
    );
  return texts;
}
