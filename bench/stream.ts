/**
 * `npm run bench:stream`: what the stream function costs on top of the upstream.
 *  1. Time to first audio byte through the proxy (POST /v1/stream) vs. a direct cold client of the same emulator, at 0
 *     and 30 ms modelled RTT to NLS, cache off and on, p50/p95, and their ratio; memory per stream.
 *  2. N concurrent streams through the proxy (N = 50, 200, 500): wall time, throughput and the server's peak RSS.
 * The emulator runs in fast mode (a generated tone) so that the figures are the plumbing's, not espeak-ng's.
 */
import { readFile, writeFile } from "node:fs/promises";
import { SpeechSynthesizer } from "alibabacloud-nls";
import { Agent, fetch, request } from "undici";
import { createClients } from "../lib/clients.js";
import { nlsEndpoints, parseConfig } from "../lib/config.js";
import { startChild } from "./children.js";
import type { Row } from "./nls-short.js";

const TEXT = "短文本流式合成的首字节时间测试。";
export const quantile = (xs: number[], q: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function resetPeak(pid: number): Promise<void> {
  // Linux resets VmHWM to the current RSS when 5 is written to clear_refs.
  await writeFile(`/proc/${pid}/clear_refs`, "5").catch(() => undefined);
}

/**
 * The emulators and the stream server in processes of their own, for one network model. `server` is the stream
 * function's process (its RSS is the function's), `env` the cloud's settings; `stop` ends both.
 */
export async function startStack(rtt = 0, cache = false, ossRtt = 0) {
  const cloud = await startChild<{ env: Record<string, string> }>([
    "--role",
    "cloud",
    "--rtt",
    String(rtt),
    "--oss-rtt",
    String(ossRtt),
  ]);
  const server = await startChild<{ url: string }>(["--role", "server", "--cache", String(cache)], {
    BENCH_ENV: JSON.stringify(cloud.out.env),
  });
  return {
    server: server.child,
    url: server.out.url,
    env: cloud.out.env,
    stop: () => {
      server.child.kill();
      cloud.child.kill();
    },
  };
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/**
 * Memory of streams in flight: the stack's resident size idle, then its peak with 200 streams at once (each new text,
 * cache on, 30 ms RTT), the difference per stream, and how many streams fit in a 512 MB instance at that rate. The
 * stack holds the emulator too, so these bound the stream function's own figures from above.
 */
async function memoryRows(pid: number, stream: () => Promise<number>): Promise<Row[]> {
  const n = 200;
  await new Promise((r) => setTimeout(r, 500));
  const idle = await rssMb(pid);
  await resetPeak(pid);
  await Promise.all(Array.from({ length: n }, () => stream()));
  const peak = await peakRssMb(pid);
  const perStream = Math.max(0.01, (peak - idle) / n);
  return [
    {
      name: "stream memory: idle stream function",
      value: `${idle.toFixed(0)} MB RSS`,
      reference: "the stream server's process (the emulators run in their own)",
      ratio: "",
    },
    {
      name: `stream memory: per active stream (${n} at once, 30 ms RTT, cache on)`,
      value: `${(perStream * 1024).toFixed(0)} KB`,
      reference: `peak ${peak.toFixed(0)} MB; a 512 MB instance holds about ${Math.floor((512 - idle) / perStream)} such streams`,
      ratio: "",
    },
  ];
}

/**
 * First byte through the proxy against a direct cold client of the same emulator (a new connection and task per
 * request, as a client talking to NLS itself pays), at 0 and 30 ms round trip to NLS, cache off and on (each request
 * new text, so the cache is looked up and missed; OSS is modelled 2 ms away when NLS is 30 ms away, as OSS in the
 * function's region is, and 0 ms in the 0 ms rows), interleaved one by one, p50 and p95. The proxy's client is
 * undici's `request` on a kept-alive connection: a lean client, as the official SDK is for the direct side (undici's
 * `fetch` adds about 0.6 ms of its own per request, measured in one process, which is not the proxy's).
 */
export async function benchStreamRtt(requests = 60): Promise<Row[]> {
  const rows: Row[] = [];
  for (const rtt of [0, 30]) {
    for (const cache of [false, true]) {
      const ossRtt = rtt === 30 ? 2 : 0;
      const { server, url, env, stop } = await startStack(rtt, cache, ossRtt);
      try {
        const config = parseConfig({ ...env, NLS_WARM_SOCKETS: "0" });
        const { tokens } = createClients(config);
        const gateway = nlsEndpoints(config).gateway;
        // Keep-alive, as a real client of the stream function has it (pipelining 0 would open a TCP connection per request).
        const dispatcher = new Agent({ connections: 4, pipelining: 1 });
        let n = 0;
        const proxy = async (): Promise<number> => {
          const t0 = performance.now();
          const res = await request(`${url}/v1/stream`, {
            method: "POST",
            headers: { authorization: "Bearer bench-key", "content-type": "application/json" },
            body: JSON.stringify({ text: `${TEXT}${n++}`, format: "pcm", sampleRate: 16000 }),
            dispatcher,
          });
          if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${await res.body.text()}`);
          let ttfb = 0;
          for await (const _ of res.body) ttfb ||= performance.now() - t0;
          return ttfb;
        };
        // The official NLS SDK, as a client talking to NLS itself would use it: a connection per synthesis.
        const token = await tokens.token();
        const direct = async (): Promise<number> => {
          const tts = new SpeechSynthesizer({ url: gateway, appkey: config.NLS_APPKEY, token });
          const t0 = performance.now();
          let ttfb = 0;
          tts.on("data", () => {
            ttfb ||= performance.now() - t0;
          });
          await tts.start(
            { ...tts.defaultStartParams("xiaoyun"), text: `${TEXT}${n++}`, format: "pcm", sample_rate: 16000 },
            false,
            6000,
          );
          return ttfb;
        };
        // The bare HTTP exchange through the same server (no synthesis): what any HTTP hop costs here, for attribution.
        const bare = async (): Promise<number> => {
          const t0 = performance.now();
          const res = await request(`${url}/healthz`, { dispatcher });
          await res.body.text();
          return performance.now() - t0;
        };
        for (let i = 0; i < 5; i++) await Promise.all([proxy(), direct()]); // warm-up
        const p: number[] = [];
        const d: number[] = [];
        const h: number[] = [];
        // Each request arrives a moment after the one before, as traffic does (a warm connection is replaced by then),
        // and both clients get the same pause, so neither meets the other's tail (a closing handshake, a GC).
        const pause = () => new Promise((r) => setTimeout(r, 20 + rtt * 3));
        for (let i = 0; i < requests; i++) {
          await pause();
          d.push(await direct());
          await pause();
          p.push(await proxy());
          if (rtt === 0 && !cache) {
            await pause();
            h.push(await bare());
          }
        }
        if (h.length > 0)
          rows.push({
            name: "bare HTTP exchange through the stream server (GET /healthz), p50",
            value: `${quantile(h, 0.5).toFixed(1)} ms`,
            reference:
              "what the extra hop itself costs at 0 ms RTT (bounded by: node:http, loopback, 3 processes on 2 cores)",
            ratio: "",
          });
        if (rtt === 30 && cache) rows.push(...(await memoryRows(server.pid!, proxy)));
        for (const q of [0.5, 0.95]) {
          const pv = quantile(p, q);
          const dv = quantile(d, q);
          rows.push({
            name: `stream first byte p${q * 100}, ${rtt} ms RTT to NLS, cache ${cache ? `on (OSS ${ossRtt} ms away)` : "off"}`,
            value: `${pv.toFixed(1)} ms proxy`,
            reference: `${dv.toFixed(1)} ms official NLS SDK, direct and cold (bounded by: emulator + modelled RTT)`,
            ratio: (pv / dv).toFixed(2),
          });
        }
        await dispatcher.close();
      } finally {
        stop();
      }
    }
  }
  return rows;
}

/** N concurrent streams through the proxy: throughput, first byte p95 and the stream function's peak RSS. */
export async function benchStream(levels = [50, 200, 500]): Promise<Row[]> {
  const { server: child, url, stop } = await startStack();
  try {
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
    for (let i = 0; i < 10; i++) await viaProxy(); // warm-up
    const rows: Row[] = [];
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
    stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import("./table.js");
  printTable([...(await benchStreamRtt()), ...(await benchStream())]);
}
