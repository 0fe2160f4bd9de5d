/**
 * `npm run bench:stream`: what the stream function costs on top of the upstream.
 *  1. Time to first audio byte through the proxy (POST /v1/stream) vs. directly against the NLS emulator with our
 *     client, p50/p95 over 200 sequential requests each, and their ratio.
 *  2. N concurrent streams through the proxy (N = 50, 200, 500): wall time, throughput and the server's peak RSS.
 * The emulator runs in fast mode (a generated tone) so that the figures are the plumbing's, not espeak-ng's.
 */
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { Agent, fetch } from "undici";
import { createClients } from "../lib/clients.js";
import { parseConfig } from "../lib/config.js";
import type { Row } from "./nls-short.js";

const TEXT = "短文本流式合成的首字节时间测试。";
const quantile = (xs: number[], q: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function resetPeak(pid: number): Promise<void> {
  // Linux resets VmHWM to the current RSS when 5 is written to clear_refs.
  await writeFile(`/proc/${pid}/clear_refs`, "5").catch(() => undefined);
}

export async function benchStream(requests = 200, levels = [50, 200, 500]): Promise<Row[]> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/stream-stack.ts"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const line = await new Promise<string>((resolve) =>
      createInterface({ input: child.stdout! }).once("line", resolve),
    );
    const { url, env } = JSON.parse(line) as { url: string; env: Record<string, string> };
    const { nls } = createClients(parseConfig(env), {});
    const dispatcher = new Agent({ connections: 1000, pipelining: 0 });
    const body = JSON.stringify({ text: TEXT, format: "pcm", sampleRate: 16000 });
    const viaProxy = async (): Promise<{ ttfb: number; bytes: number }> => {
      const t0 = performance.now();
      const res = await fetch(`${url}/v1/stream`, {
        method: "POST",
        headers: { authorization: "Bearer bench-key", "content-type": "application/json" },
        body,
        dispatcher,
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
      let ttfb = 0;
      let bytes = 0;
      for await (const chunk of res.body!) {
        ttfb ||= performance.now() - t0;
        bytes += (chunk as Uint8Array).length;
      }
      return { ttfb, bytes };
    };
    const direct = async (): Promise<number> => {
      const t0 = performance.now();
      let ttfb = 0;
      for await (const e of nls.synthesize({ text: TEXT, format: "pcm", sampleRate: 16000 }))
        if (e.type === "audio") ttfb ||= performance.now() - t0;
      return ttfb;
    };
    for (let i = 0; i < 10; i++) await Promise.all([viaProxy(), direct()]); // warm-up
    const directTimes: number[] = [];
    const proxyTimes: number[] = [];
    for (let i = 0; i < requests; i++) {
      directTimes.push(await direct());
      proxyTimes.push((await viaProxy()).ttfb);
    }
    const rows: Row[] = [];
    for (const q of [0.5, 0.95]) {
      const p = quantile(proxyTimes, q);
      const d = quantile(directTimes, q);
      rows.push({
        name: `stream first byte p${q * 100} (${requests} req)`,
        value: `${p.toFixed(1)} ms`,
        reference: `${d.toFixed(1)} ms direct to emulator`,
        ratio: (p / d).toFixed(2),
      });
    }
    for (const n of levels) {
      await resetPeak(child.pid!);
      const t0 = performance.now();
      const results = await Promise.allSettled(Array.from({ length: n }, () => viaProxy()));
      const wall = performance.now() - t0;
      const ok = results.filter(
        (r): r is PromiseFulfilledResult<{ ttfb: number; bytes: number }> => r.status === "fulfilled",
      );
      const mb = ok.reduce((s, r) => s + r.value.bytes, 0) / 1024 / 1024;
      const ttfbP95 = quantile(
        ok.map((r) => r.value.ttfb),
        0.95,
      );
      rows.push({
        name: `${n} concurrent streams`,
        value: `${(mb / (wall / 1000)).toFixed(1)} MB/s`,
        reference: `${ok.length}/${n} ok, ${(wall / 1000).toFixed(2)} s, ttfb p95 ${ttfbP95.toFixed(0)} ms, peak RSS ${(await peakRssMb(child.pid!)).toFixed(0)} MB`,
        ratio: "",
      });
    }
    await dispatcher.close();
    return rows;
  } finally {
    child.kill();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import("./table.js");
  printTable(await benchStream());
}
