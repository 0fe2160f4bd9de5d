/**
 * Nothing lost, counted: a long job whose provider drops a sentence from some of its tasks' audio (the NLS emulator's
 * `dropSentences` fault) must finish with every sentence heard. The rows count what that cost: sentences missing at
 * the end, parts made again, and the characters billed beyond the text. Counts, not times: the machine's speed does not
 * move them. `npm run bench:coverage` runs this alone.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FastEngine } from "../infra/local/audio/fast-engine.js";
import { startLocalCloud } from "../infra/local/cloud.js";
import { startFunctionHost } from "../infra/local/host.js";
import { createLogger } from "../lib/log.js";
import type { Row } from "./nls-short.js";

export async function benchCoverage(characters = 100_000, partChars = 1_000, dropShare = 0.1): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), "bench-coverage-"));
  const cloud = await startLocalCloud({ dataDir: dir, engine: new FastEngine(), longText: { queueMs: 0, runMs: 0 } });
  const key = "bench-key";
  const env = {
    ...cloud.env(),
    TTS_API_KEYS: key,
    JOBS_PART_CHARS: String(partChars),
    JOBS_PART_CONCURRENCY: "8",
  };
  const host = await startFunctionHost({ env, log: createLogger({ level: "error" }), cloud });
  try {
    const sentence = (i: number) => `这是第${i + 1}句，它必须被完整地读出来。`;
    const sentences: string[] = [];
    for (let n = 0, i = 0; n < characters; i++) {
      sentences.push(sentence(i));
      n += sentence(i).length;
    }
    const parts = Math.ceil(characters / partChars);
    const dropped = Math.round(parts * dropShare);
    cloud.nls.longText.faults.dropSentences = dropped;
    const before = cloud.nls.longText.stats.submitted;
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const res = await fetch(`${host.url}/v1/jobs`, {
      method: "POST",
      headers,
      body: JSON.stringify({ text: sentences.join(""), voice: "siqi", format: "mp3", subtitles: ["srt"] }),
    });
    const { id } = (await res.json()) as { id: string };
    type View = {
      state: string;
      coverage?: { heard: number; total: number };
      progress: { parts: { total: number }; characters: { synthesized: number; billed: number } };
    };
    let view: View;
    for (;;) {
      view = (await (await fetch(`${host.url}/v1/jobs/${id}`, { headers })).json()) as View;
      if (view.state === "done" || view.state === "failed") break;
      await new Promise((r) => setTimeout(r, 200));
    }
    if (view.state === "failed")
      console.error("bench coverage: the job failed:", JSON.stringify((view as { failure?: unknown }).failure));
    const repairs = cloud.nls.longText.stats.submitted - before - view.progress.parts.total;
    const missing = (view.coverage?.total ?? sentences.length) - (view.coverage?.heard ?? 0);
    const { synthesized, billed } = view.progress.characters;
    const extra = (billed - synthesized) / synthesized;
    const what = `${characters.toLocaleString("en")}-char job, ${view.progress.parts.total} parts, ${dropped} tasks dropping a sentence`;
    return [
      {
        name: `coverage: sentences missing at the end (${what})`,
        value: `${missing} of ${sentences.length}`,
        reference: `target 0; the job ${view.state} (bounded by: each part's timed sentences checked against its text)`,
        ratio: missing === 0 && view.state === "done" ? "ok" : "FAIL",
      },
      {
        name: "coverage: parts made again",
        value: String(repairs),
        reference: `${dropped} parts lost a sentence (bounded by: one repair per part that lost one)`,
        ratio: (repairs / Math.max(1, dropped)).toFixed(2),
      },
      {
        name: "coverage: characters billed beyond the text",
        value: `${(extra * 100).toFixed(1)}%`,
        reference: `target 2% (issue 29); a whole ${partChars}-char part is made again per dropped sentence`,
        ratio: (extra / 0.02).toFixed(2),
      },
    ];
  } finally {
    await host.stop();
    await cloud.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import("./table.js");
  printTable(await benchCoverage());
}
