/**
 * A finished book as its reader sees it (`GET /v1/jobs/{id}/book`): each chapter with its file's signed URL, its
 * sentences where they are heard in that file (from the coverage map, so a player can follow the text), and its
 * figures from the conformance report with their pass or fail; and the book's own checks. Served by the job API, so a
 * page on its origin reads it without reaching OSS itself.
 */
import { InputError } from "../errors.js";
import type { Bucket } from "../storage/bucket.js";
import type { OssStorage } from "../storage/oss.js";
import type { Job } from "./schema.js";

interface MapSentence {
  readonly text: string;
  readonly beginMs?: number;
  readonly endMs?: number;
}

interface Report {
  readonly profile: string;
  readonly targetLufs: number;
  readonly conforms: boolean;
  readonly failed: readonly string[];
  readonly spread: unknown;
  readonly chapterCount: unknown;
  readonly upsampledFrom?: number;
  readonly chapters: ReadonlyArray<{ readonly gainDb: number; readonly checks: unknown }>;
}

const readJson = async <T>(storage: Pick<Bucket, "get">, key: string): Promise<T | undefined> => {
  const body = await storage.get(key);
  return body ? (JSON.parse(body.toString("utf8")) as T) : undefined;
};

export async function bookView(
  job: Job,
  storage: Pick<Bucket, "get"> & Pick<OssStorage, "signedUrl">,
  urlTtlSeconds = 3600,
): Promise<Record<string, unknown>> {
  const outputs = job.book?.outputs;
  if (job.state !== "done" || !outputs)
    throw new InputError(
      "id",
      job.book ? `book ${job.id} is ${job.state}; it can be read once it is done` : `job ${job.id} is not a book`,
      { statusCode: 404, code: "NotFound" },
    );
  const mapKey = job.coverage?.mapKey ?? job.seams?.mapKey;
  const map = mapKey ? await readJson<{ sentences?: MapSentence[] }>(storage, mapKey) : undefined;
  const report = await readJson<Report>(storage, outputs.reportKey);
  const heard = (map?.sentences ?? []).filter((s) => s.beginMs !== undefined && s.endMs !== undefined);
  const signed = (key: string) => storage.signedUrl(key, { expiresSeconds: urlTtlSeconds });
  return {
    id: job.id,
    ...(job.book?.title ? { title: job.book.title } : {}),
    ...(job.book?.author ? { author: job.book.author } : {}),
    profile: job.book?.profile,
    m4b: signed(outputs.m4bKey),
    ...(report
      ? {
          conforms: report.conforms,
          failed: report.failed,
          targetLufs: report.targetLufs,
          spread: report.spread,
          chapterCount: report.chapterCount,
          ...(report.upsampledFrom ? { upsampledFrom: report.upsampledFrom } : {}),
        }
      : {}),
    chapters: outputs.chapters.map((c, i) => ({
      title: c.title,
      startMs: c.startMs,
      endMs: c.endMs,
      audio: signed(c.audioKey),
      // The chapter's file starts where the chapter starts in the book: its sentences are moved by that much.
      sentences: heard
        .filter((s) => s.beginMs! >= c.startMs && s.beginMs! < c.endMs)
        .map((s) => ({ text: s.text, beginMs: s.beginMs! - c.startMs, endMs: s.endMs! - c.startMs })),
      ...(report?.chapters[i] ? { gainDb: report.chapters[i].gainDb, checks: report.chapters[i].checks } : {}),
    })),
  };
}
