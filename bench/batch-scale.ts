/**
 * `npm run bench:batch-scale`: a 10,000-item batch (the schema's maximum) on the local stack. It measures what must
 * fit in a function's timeout whatever the batch's size: `submit` starting the batch (s.yaml gives submit 60 s) and
 * `GET /v1/batches/{id}` reporting it while items run (speech, 60 s), with the OSS requests each made, the figure that
 * does not depend on the machine. The emulators run in this process (the OSS emulator on loopback): the times are an
 * upper bound for OSS's own latency of ~1 ms per request here; the request counts are exact.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readResources } from "../infra/deploy/s-yaml.js";
import { FastEngine } from "../infra/local/audio/fast-engine.js";
import { startLocalCloud } from "../infra/local/cloud.js";
import { startFunctionHost } from "../infra/local/host.js";
import { createLogger } from "../lib/log.js";
import { OssStorage } from "../lib/storage/oss.js";
import type { Row } from "./nls-short.js";

/**
 * With `complete`, waits for every item to end and reports the whole batch's time (minutes at this stack's pace: not
 * part of `npm run bench`).
 */
export async function benchBatchScale(items = 10_000, runForMs = 10_000, complete = false): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), "bench-batch-scale-"));
  const cloud = await startLocalCloud({
    dataDir: dir,
    engine: new FastEngine({ synthMsPerChar: 0.02 }),
    longText: { queueMs: 0, runMs: 0 },
  });
  const env = { ...cloud.env(), TTS_API_KEYS: "bench-key", BATCH_CONCURRENCY: "16" };
  const host = await startFunctionHost({ env, log: createLogger({ level: "error" }), cloud });
  const timeouts = Object.fromEntries(
    Object.entries(readResources(env)).map(([name, props]) => [name, Number(props.timeout) * 1000]),
  );
  let requests = 0;
  cloud.oss.observers.add(() => void requests++);
  const rows: Row[] = [];
  try {
    // The items travel by reference, as a batch this size must: the event itself would exceed FC's 128 KB.
    const lines = Array.from({ length: items }, (_, i) => JSON.stringify({ id: `i${i}`, text: `第${i}条新闻。` }));
    const owner = new OssStorage({
      config: {
        bucket: cloud.bucket,
        region: `oss-${cloud.region}`,
        accessKeyId: cloud.accessKey.accessKeyId,
        accessKeySecret: cloud.accessKey.accessKeySecret,
        endpoint: cloud.urls.oss,
        pathStyle: true,
      },
    });
    await owner.put("input/bench-scale/items.jsonl", `${lines.join("\n")}\n`);
    const event = {
      id: "bench-scale",
      source: "tts.batch",
      specversion: "1.0",
      type: "tts:Batch:Submitted",
      data: {
        batchId: "bench-scale",
        defaults: { voice: "siqi", format: "mp3", subtitles: [] },
        itemsFrom: { key: "input/bench-scale/items.jsonl" },
        outputPrefix: "output/bench-scale/",
      },
    };
    let before = requests;
    let t0 = performance.now();
    await host.invoke("submit", event);
    const start = performance.now() - t0;
    rows.push({
      name: `batch of ${items.toLocaleString("en")} items by reference: submit starts it (${requests - before} OSS requests, the items file and the first 16 items' own included)`,
      value: `${start.toFixed(0)} ms`,
      reference: `${timeouts.submit! / 1000} s timeout`,
      ratio: (start / timeouts.submit!).toFixed(3),
    });
    await new Promise((r) => setTimeout(r, runForMs));
    before = requests;
    t0 = performance.now();
    const res = await fetch(`${host.url}/v1/batches/bench-scale`, { headers: { authorization: "Bearer bench-key" } });
    const view = (await res.json()) as { counts: Record<string, number> };
    const report = performance.now() - t0;
    const counts = Object.entries(view.counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(", ");
    rows.push({
      name: `batch of ${items.toLocaleString("en")} items: GET /v1/batches/{id} (${counts}; ${requests - before} OSS requests, running items' included)`,
      value: `${report.toFixed(0)} ms`,
      reference: `${timeouts.speech! / 1000} s timeout`,
      ratio: (report / timeouts.speech!).toFixed(3),
    });
    if (complete) {
      const t1 = performance.now();
      let state = "";
      while (state !== "done" && state !== "partial" && state !== "failed") {
        await new Promise((r) => setTimeout(r, 5000));
        const v = (await (
          await fetch(`${host.url}/v1/batches/bench-scale`, { headers: { authorization: "Bearer bench-key" } })
        ).json()) as { state: string };
        state = v.state;
      }
      const total = (performance.now() - t1 + runForMs + start + report) / 1000;
      // "Done" means every output exists: count the audio objects the batch wrote.
      let audio = 0;
      let marker: string | undefined;
      do {
        const page = await owner.list("output/bench-scale/", { marker, maxKeys: 1000 });
        audio += page.objects.filter((o) => o.key.endsWith(".mp3")).length;
        marker = page.next;
      } while (marker);
      if (audio !== items) throw new Error(`the batch said ${state} with ${audio} of ${items} audio objects in OSS`);
      rows.push({
        name: `batch of ${items.toLocaleString("en")} items by reference, end to end (${state}; ${audio} audio objects in OSS, counted)`,
        value: `${total.toFixed(0)} s`,
        reference: `${(items / total).toFixed(1)} items/s on this stack (bounded by: functions and emulators sharing 2 cores)`,
        ratio: "",
      });
    }
  } finally {
    // The other 9,9xx items are not waited for (some minutes at this stack's ~15 items/s): the host stops without them.
    await Promise.race([host.stop(), new Promise((r) => setTimeout(r, 2000))]).catch(() => undefined);
    // Stopped as a crash would stop them: tasks under way write nothing more into the directory removed next.
    cloud.nls.longText.abandon();
    await cloud.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import("./table.js");
  printTable(await benchBatchScale(10_000, 10_000, process.argv.includes("--complete")));
}
