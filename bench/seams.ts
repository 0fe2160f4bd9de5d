/**
 * `npm run bench:seams`: what measuring and trimming the joins costs the `store` step. A job of `parts` one-minute MP3
 * parts (16 kHz, the fast engine's tone-and-pause speech, in an in-memory bucket: no network, so the rows bound the CPU
 * cost alone) is stitched A) as before this work, frames copied, and B) as now, each part's edges read and decoded,
 * the trims planned and each join decoded in the output. A and B alternate in one process, several rounds; the table
 * shows the median and the range across rounds.
 */
import { FastEngine } from "../infra/local/audio/fast-engine.js";
import { SeamProbe } from "../lib/audio/seam-probe.js";
import { stitch } from "../lib/audio/stitch.js";
import { type Job, JobOptionsSchema } from "../lib/jobs/schema.js";
import { planJoins } from "../lib/jobs/seam-report.js";
import { MemoryBucket } from "../lib/storage/bucket.js";
import type { Row } from "./nls-short.js";

async function drain(stream: AsyncIterable<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const c of stream) bytes += c.length;
  return bytes;
}

export async function benchSeams(parts = 40, rounds = 5): Promise<Row[]> {
  const storage = new MemoryBucket();
  const engine = new FastEngine();
  const options = JobOptionsSchema.parse({ voice: "siqi", format: "mp3", sampleRate: 16000 });
  const records: Job[] = [];
  let audioMs = 0;
  for (let i = 0; i < parts; i++) {
    // About a minute of speech per part: 200 Han characters at 284 ms each, in 10 sentences.
    const text = Array.from({ length: 10 }, (_, k) => `第${i}部分第${k}句，${"字".repeat(14)}。`).join("");
    const { audio, durationMs } = await engine.synthesize({ text, format: "mp3", sampleRate: 16000 });
    audioMs += durationMs;
    const key = `parts/${i}.mp3`;
    await storage.put(key, audio);
    records.push({ id: `p${i}`, options, output: { audioKey: key }, result: { size: audio.length } } as unknown as Job);
  }
  const job = { id: "bench", options, ssml: false } as unknown as Job;
  const deps = { storage, jobs: { textKey: (id: string) => `texts/${id}` } };
  const open = (p: Job) =>
    async function* () {
      yield (await storage.get(p.output.audioKey))!;
    };
  const plain: number[] = [];
  const measured: number[] = [];
  let report: SeamProbe | undefined;
  for (let round = 0; round < rounds; round++) {
    let t = performance.now();
    await drain(
      stitch(
        "mp3",
        records.map((p) => ({ open: open(p) })),
        16000,
      ).stream,
    );
    plain.push(performance.now() - t);
    t = performance.now();
    const plan = await planJoins(job, records, deps);
    const probe = new SeamProbe("mp3", 16000);
    await drain(
      stitch(
        "mp3",
        records.map((p, i) => ({ open: open(p), trim: plan.trims[i] })),
        16000,
        probe,
      ).stream,
    );
    measured.push(performance.now() - t);
    report = probe;
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const range = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} ms`;
  const joins = report!.seams.length;
  const extra = median(measured) - median(plain);
  const hours = audioMs / 3_600_000;
  return [
    {
      name: `seams: stitching ${parts} one-minute MP3 parts (${(audioMs / 60_000).toFixed(0)} min), frames copied only`,
      value: `${median(plain).toFixed(0)} ms`,
      reference: `range ${range(plain)} over ${rounds} rounds (bounded by: CPU, an in-memory bucket)`,
      ratio: "1.00",
    },
    {
      name: `seams: the same with every part's edges and all ${joins} joins decoded and measured`,
      value: `${median(measured).toFixed(0)} ms`,
      reference: `range ${range(measured)}; ${(extra / joins).toFixed(1)} ms a join, ${(extra / hours / 1000).toFixed(1)} s per hour of audio (bounded by: mpg123 decoding 4 s at each edge and 8 s at each join)`,
      ratio: (median(measured) / median(plain)).toFixed(2),
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import("./table.js");
  printTable(await benchSeams());
}
