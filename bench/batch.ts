/**
 * `npm run bench:batch`: the makespan of a 1,000,000-character batch on the local stack at item concurrency 1, 4 and
 * 16, against the ideal (total characters × synthesis rate / concurrency). The emulator runs in fast mode at a fixed
 * synthesis rate per character, since real offline speech (~0.25 s per 100 characters) would take over 40 minutes.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FastEngine } from "../infra/local/audio/fast-engine.js";
import { startLocalCloud } from "../infra/local/cloud.js";
import { startFunctionHost } from "../infra/local/host.js";
import { createLogger } from "../lib/log.js";
import type { Row } from "./nls-short.js";

const SYNTH_MS_PER_CHAR = 0.02;

export async function benchBatch(levels = [1, 4, 16], items = 100, charsPerItem = 10_000): Promise<Row[]> {
  const rows: Row[] = [];
  for (const concurrency of levels) {
    const dir = await mkdtemp(join(tmpdir(), "bench-batch-"));
    const cloud = await startLocalCloud({
      dataDir: dir,
      engine: new FastEngine({ synthMsPerChar: SYNTH_MS_PER_CHAR }),
      longText: { queueMs: 0, runMs: 0 },
    });
    const host = await startFunctionHost({
      env: {
        ...cloud.env(),
        TTS_API_KEYS: "bench-key",
        BATCH_CONCURRENCY: String(concurrency),
        JOBS_PART_CONCURRENCY: String(concurrency),
      },
      log: createLogger({ level: "error" }),
      cloud,
    });
    try {
      const sentence = "批量朗读的基准测试句子。";
      const text = (i: number) =>
        `${i}${sentence.repeat(Math.ceil(charsPerItem / sentence.length))}`.slice(0, charsPerItem);
      const event = {
        id: `bench-${concurrency}`,
        source: "tts.batch",
        specversion: "1.0",
        type: "tts:Batch:Submitted",
        data: {
          batchId: `bench-${concurrency}`,
          defaults: { voice: "siqi", format: "mp3", sampleRate: 16000, subtitles: [] },
          items: Array.from({ length: items }, (_, i) => ({ id: `i${i}`, text: text(i) })),
          outputPrefix: "output/bench/",
        },
      };
      const t0 = performance.now();
      await host.invoke("submit", event);
      for (;;) {
        await host.idle();
        await cloud.nls.longText.idle();
        const view = await host.platform.jobs().batches.view(`bench-${concurrency}`);
        if (view?.state !== "running") break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const makespan = performance.now() - t0;
      const ideal = (items * charsPerItem * SYNTH_MS_PER_CHAR) / concurrency;
      rows.push({
        name: `batch ${(items * charsPerItem).toLocaleString("en")} chars, concurrency ${concurrency}`,
        value: `${(makespan / 1000).toFixed(2)} s`,
        reference: `${(ideal / 1000).toFixed(2)} s ideal`,
        ratio: (makespan / ideal).toFixed(2),
      });
    } finally {
      await host.stop();
      await cloud.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import("./table.js");
  printTable(await benchBatch());
}
