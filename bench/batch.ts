/**
 * `npm run bench:batch`: the makespan of a batch on the local stack at item concurrency 1, 4 and 16, from the submit
 * event to its signed completion webhook, against the wave-quantised ideal: items run `concurrency` at a time, so the
 * ideal is ceil(items / concurrency) waves of one item's synthesis. Every level runs the same number of full waves
 * (`concurrency` × `waves` items, six waves by default), so the first wave, where a level's items all start at once,
 * weighs the same in each row. Each level follows a warm-up batch (not measured): compiling the code on first use
 * belongs to the cold-start rows.
 * The emulators run in a process of their own at a realistic synthesis rate (0.2 ms per character, about NLS
 * long-text's pace) on news-article-sized items (5,000 characters: one second of synthesis each), the functions in
 * this one. The bench reads nothing while the batch runs (it waits for the webhook); the counts come from the
 * webhook's batch state, and each row gives the plumbing per wave (what the pipeline adds to each item's synthesis:
 * between one item's synthesis and the next one's, its callback and the next item's job and task; an item hands its
 * slot on when its synthesis ends, so its audio is stored while the next one synthesizes),
 * the OSS requests per item (the bench's own none), the CPU per item of the functions (this process) and of the
 * emulators (theirs), and from those the least time a wave's plumbing can take on this machine's cores.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism } from "node:os";
import { startFunctionHost } from "../infra/local/host.js";
import { createLogger } from "../lib/log.js";
import { startChild } from "./children.js";
import type { Row } from "./nls-short.js";

const SYNTH_MS_PER_CHAR = 0.2;
const cores = availableParallelism();

/** Resolves with each webhook body posted to it. */
async function webhookReceiver(): Promise<{ url: string; next: () => Promise<unknown>; close: () => void }> {
  const waiting: Array<(body: unknown) => void> = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => {
      body += d.toString();
    });
    req.on("end", () => {
      res.writeHead(204).end();
      waiting.shift()?.(JSON.parse(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/done`,
    next: () => new Promise((resolve) => waiting.push(resolve)),
    close: () => server.close(),
  };
}

export async function benchBatch(levels = [1, 4, 16], waves = 6, charsPerItem = 5_000): Promise<Row[]> {
  const rows: Row[] = [];
  const cloud = await startChild<{ env: Record<string, string>; statsUrl: string }>([
    "--role",
    "cloud",
    "--synth-ms-per-char",
    String(SYNTH_MS_PER_CHAR),
  ]);
  const webhook = await webhookReceiver();
  try {
    for (const concurrency of levels) {
      const host = await startFunctionHost({
        env: {
          ...cloud.out.env,
          TTS_API_KEYS: "bench-key",
          BATCH_CONCURRENCY: String(concurrency),
          JOBS_PART_CONCURRENCY: String(concurrency),
          WEBHOOK_ALLOW_PRIVATE: "true",
        },
        log: createLogger({ level: "error" }),
      });
      try {
        const sentence = "批量朗读的基准测试句子。";
        const text = (i: number) =>
          `${i}${sentence.repeat(Math.ceil(charsPerItem / sentence.length))}`.slice(0, charsPerItem);
        const stats = async (): Promise<{ ossRequests: number; cpuMs: number }> =>
          (await (await fetch(cloud.out.statsUrl)).json()) as { ossRequests: number; cpuMs: number };
        /** Submits a batch of `items` and waits for its completion webhook. */
        const run = async (tag: string, items: number) => {
          const batchId = `bench-${tag}-${concurrency}-${Date.now()}`;
          const event = {
            id: batchId,
            source: "tts.batch",
            specversion: "1.0",
            type: "tts:Batch:Submitted",
            data: {
              batchId,
              defaults: { voice: "siqi", format: "mp3", sampleRate: 16000, subtitles: [] },
              items: Array.from({ length: items }, (_, i) => ({ id: `i${i}`, text: text(i) })),
              outputPrefix: `output/${batchId}/`,
              notify: { url: webhook.url },
            },
          };
          const before = await stats();
          const done = webhook.next();
          const cpu0 = process.cpuUsage();
          const t0 = performance.now();
          await host.invoke("submit", event);
          const body = (await done) as { state?: string; counts?: Record<string, number> };
          const makespan = performance.now() - t0;
          const cpu = process.cpuUsage(cpu0);
          const after = await stats();
          return {
            body,
            makespan,
            cpuPerItem: (cpu.user + cpu.system) / 1000 / items,
            perItem: (after.ossRequests - before.ossRequests) / items,
            emulatorCpuPerItem: (after.cpuMs - before.cpuMs) / items,
          };
        };
        await run("warm-up", concurrency);
        const items = waves * concurrency;
        const { body, makespan, cpuPerItem, perItem, emulatorCpuPerItem } = await run("measured", items);
        // The CPU one wave's items use (functions and emulators), as time on this machine's cores if spread evenly. Much
        // of it (the audio's copy) overlaps the next synthesis, so it is not a floor; when it is of the order of the
        // plumbing, the cores slow the wave, where a deployment gives each instance a CPU and OSS and NLS are not one
        // process.
        const waveCpuMs = (concurrency * (cpuPerItem + emulatorCpuPerItem)) / cores;
        const ideal = waves * charsPerItem * SYNTH_MS_PER_CHAR;
        const counts = Object.entries(body.counts ?? {})
          .map(([k, v]) => `${v} ${k}`)
          .join(", ");
        rows.push({
          name: `batch of ${items} × ${charsPerItem.toLocaleString("en")} chars, concurrency ${concurrency} (${body.state}: ${counts})`,
          value: `${(makespan / 1000).toFixed(2)} s`,
          reference: `${(ideal / 1000).toFixed(2)} s ideal: ${waves} waves × ${(charsPerItem * SYNTH_MS_PER_CHAR) / 1000} s; plumbing ${((makespan - ideal) / waves).toFixed(0)} ms per wave, ${perItem.toFixed(1)} OSS requests, ${cpuPerItem.toFixed(0)} ms of functions' CPU and ${emulatorCpuPerItem.toFixed(0)} ms of the emulators' per item: a wave's items use ${waveCpuMs.toFixed(0)} ms of this machine's ${cores} cores, the audio's copy included (bounded by: emulated synthesis at ${SYNTH_MS_PER_CHAR} ms/char, and between syntheses the callback and the next item's job and task${waveCpuMs > (0.5 * (makespan - ideal)) / waves ? `, slowed by ${concurrency} items' CPU, functions and emulators, on ${cores} cores` : ", round trips"}; target 1.2)`,
          ratio: (makespan / ideal).toFixed(2),
        });
      } finally {
        await host.stop();
      }
    }
  } finally {
    webhook.close();
    cloud.child.kill();
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import("./table.js");
  printTable(await benchBatch());
}
