/**
 * `npm run bench:store`: the store step copying provider audio into OSS (multipart, bounded memory) against a plain
 * loopback copy of the same bytes, at 20 MB and 200 MB, with each copier's peak RSS (which must not grow with size).
 * Every party has its own process: the audio source (this one), the copier (bench/store-child.ts), and the far end
 * (the local cloud's OSS emulator, or a sink that hashes and stores each body as OSS does with any upload), so
 * neither copy shares an event loop with what it writes to, and both meet the same far-end work.
 */
import { execFile } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { createClients } from "../lib/clients.js";
import { parseConfig } from "../lib/config.js";
import { JobRecords } from "../lib/jobs/records.js";
import { JobOptionsSchema } from "../lib/jobs/schema.js";
import { startChild } from "./children.js";
import type { Row } from "./nls-short.js";

const run = promisify(execFile);
const MB = 1024 * 1024;

/** A source that streams `size` bytes of generated audio-like data without holding them. */
function sourceServer(): Promise<{ url: (size: number) => string; close: () => void }> {
  const chunk = Buffer.alloc(64 * 1024, 0x55);
  const server = createServer((req, res) => {
    const size = Number(new URL(req.url ?? "/", "http://x").searchParams.get("size"));
    res.writeHead(200, { "content-type": "audio/mpeg", "content-length": size });
    let sent = 0;
    const pump = (): void => {
      while (sent < size) {
        const n = Math.min(chunk.length, size - sent);
        sent += n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once("drain", pump);
      }
      res.end();
    };
    pump();
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: (size) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/audio.mp3?size=${size}`,
        close: () => server.close(),
      }),
    ),
  );
}

async function child(
  args: string[],
  env: Record<string, string>,
): Promise<{ ms: number; bytes: number; peakRssMb: number; cpuMs: number; log: string }> {
  const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "bench/store-child.ts", ...args], {
    env: { ...process.env, BENCH_ENV: JSON.stringify(env) },
    maxBuffer: MB,
  });
  return { ...JSON.parse(stdout.trim().split("\n").at(-1)!), log: stderr };
}

export async function benchStore(sizesMb = [20, 200]): Promise<Row[]> {
  const cloud = await startChild<{ env: Record<string, string> }>(["--role", "cloud"]);
  const sink = await startChild<{ url: string }>(["--role", "sink"]);
  const source = await sourceServer();
  try {
    const sourceHost = new URL(source.url(1)).host;
    const env = { ...cloud.out.env, CALLBACK_SECRET: "b".repeat(32), NLS_AUDIO_HOSTS: sourceHost };
    const config = parseConfig(env);
    const jobs = new JobRecords(createClients(config).storage, config.JOBS_PREFIX);
    const rows: Row[] = [];
    for (const size of sizesMb) {
      const job = async (): Promise<string> => {
        const id = `bench-store-${size}mb-${Date.now()}-${Math.random().toString(16).slice(2)}`;
        const now = new Date().toISOString();
        await jobs.put({
          id,
          state: "synthesized",
          provider: "nls",
          createdAt: now,
          updatedAt: now,
          idempotencyKey: id,
          source: { kind: "inline" },
          ssml: false,
          characters: 1,
          options: JobOptionsSchema.parse({}),
          output: { audioKey: `output/bench/${id}.mp3` },
          task: { id: "t", submittedAt: now, audioAddress: source.url(size * MB), finishedAt: now, sentences: [] },
        });
        return id;
      };
      // Interleaved, three each (a fresh job each time), medians.
      const stores: Awaited<ReturnType<typeof child>>[] = [];
      const plains: Awaited<ReturnType<typeof child>>[] = [];
      for (let i = 0; i < 3; i++) {
        stores.push(await child(["--store", await job()], env));
        plains.push(await child(["--plain", source.url(size * MB), sink.out.url], env));
      }
      const mid = <T extends { ms: number }>(xs: T[]): T => [...xs].sort((a, b) => a.ms - b.ms)[1]!;
      const store = mid(stores);
      const plain = mid(plains);
      if (store.bytes !== size * MB || plain.bytes !== size * MB)
        throw new Error(`copied ${store.bytes} / ${plain.bytes} bytes of ${size * MB}\n${store.log}${plain.log}`);
      const mbps = (r: { ms: number }): number => size / (r.ms / 1000);
      rows.push({
        name: `store ${size} MB into OSS`,
        value: `${mbps(store).toFixed(0)} MB/s`,
        reference: `${mbps(plain).toFixed(0)} MB/s plain loopback copy; copier CPU ${store.cpuMs.toFixed(0)} vs ${plain.cpuMs.toFixed(0)} ms (bounded by: our Content-MD5 of each part, loopback, and the far end hashing and storing every byte, as OSS does: the emulator, or the sink doing the same; target 0.9)`,
        ratio: (mbps(store) / mbps(plain)).toFixed(2),
      });
      rows.push({
        name: `store ${size} MB: peak RSS`,
        value: `${store.peakRssMb.toFixed(0)} MB`,
        reference: `${plain.peakRssMb.toFixed(0)} MB plain copy`,
        ratio: (store.peakRssMb / plain.peakRssMb).toFixed(2),
      });
    }
    return rows;
  } finally {
    source.close();
    sink.child.kill();
    cloud.child.kill();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import("./table.js");
  printTable(await benchStore());
}
