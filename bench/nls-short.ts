/**
 * Short-text synthesis through the local NLS gateway: time to first audio byte and total time for a 300-character
 * request (the seed's maximum), measured through the project's own NlsSynthesizer after one warm-up run.
 * Reference: the same text synthesized in one piece by the emulator's engine alone, without the gateway.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalCloud } from "../infra/local/cloud.js";
import { createClients } from "../lib/clients.js";
import { parseConfig } from "../lib/config.js";

export interface Row {
  readonly name: string;
  readonly value: string;
  readonly reference: string;
  readonly ratio: string;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchNlsShort(runs = 5): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), "bench-nls-"));
  const cloud = await startLocalCloud({ dataDir: dir });
  try {
    const { nls } = createClients(parseConfig(cloud.env()));
    const texts = {
      zh: "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。".repeat(13).slice(0, 300),
      en: "The quick brown fox jumps over the lazy dog. ".repeat(7).slice(0, 300),
    };
    const rows: Row[] = [];
    for (const [lang, text] of Object.entries(texts)) {
      await nls.synthesizeToBuffer({ text, format: "mp3" }); // warm-up: token, worker, wasm compile
      const ttfb: number[] = [];
      const total: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        let first: number | undefined;
        for await (const e of nls.synthesize({ text, format: "mp3", sampleRate: 16000 }))
          if (e.type === "audio") first ??= performance.now() - t0;
        ttfb.push(first!);
        total.push(performance.now() - t0);
      }
      const e0 = performance.now();
      await cloud.engine.synthesize({ text, format: "mp3", sampleRate: 16000 });
      const engineMs = performance.now() - e0;
      rows.push({
        name: `nls short ${lang} 300 chars: first audio byte`,
        value: `${median(ttfb).toFixed(0)} ms`,
        reference: `${engineMs.toFixed(0)} ms (engine, whole text; bounded by: espeak-ng in the emulator)`,
        ratio: (median(ttfb) / engineMs).toFixed(2),
      });
      rows.push({
        name: `nls short ${lang} 300 chars: total`,
        value: `${median(total).toFixed(0)} ms`,
        reference: `${engineMs.toFixed(0)} ms (engine, whole text; bounded by: espeak-ng in the emulator)`,
        ratio: (median(total) / engineMs).toFixed(2),
      });
    }
    return rows;
  } finally {
    await cloud.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
