/**
 * Child processes of the benches (bench/children.ts starts them), one role each, so what is measured and what it talks
 * to do not share an event loop (as in the cloud, where they are different machines) and each one's peak RSS can be
 * read from /proc:
 *  - `--role cloud`: the local cloud with the tone engine. `--rtt <ms>` models the network to NLS and DashScope: each connection's
 *    TCP, TLS and WebSocket handshakes cost 3 round trips, each request frame one. `--oss-rtt <ms>`: each OSS request
 *    is answered one round trip later (a kept-alive connection). `--synth-ms-per-char <ms>`: the tone engine's
 *    synthesis rate (0: instant); long-text tasks then run as soon as they are made (no modelled queue). Prints
 *    `{env, statsUrl}` (GET statsUrl: `{ossRequests, ossByKind, cpuMs, quotas}`, the OSS requests answered (in all and by kind), this process's CPU
 *    so far and each API's quota figures). `--quotas <json>`: the account's quotas the emulators enforce.
 *  - `--role server`: the stream function's real server, with the environment in BENCH_ENV plus `--cache true|false`
 *    and `--warm N` (NLS_WARM_SOCKETS: 1 by default, as s.yaml deploys it). Prints `{url}`.
 *  - `--role sink`: a bare loopback HTTP sink (the plain copy's far end in bench:store): hashes each request body
 *    (as OSS does for its ETag) and writes it to a file, and answers its byte count. Prints `{url}`.
 * Each prints one JSON line, then serves until killed.
 */
import { createHash } from "node:crypto";
import { createWriteStream, existsSync, rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import { createStreamServer } from "../functions/stream/server.js";
import { FastEngine } from "../infra/local/audio/fast-engine.js";
import { type LocalCloudOptions, startLocalCloud } from "../infra/local/cloud.js";
import { parseConfig } from "../lib/config.js";
import { createLogger } from "../lib/log.js";

/**
 * Where the far ends keep what they are sent: memory-backed (/dev/shm) where there is one. OSS's and NLS's storage
 * is not this machine's disk, and the emulators' file writes were about a sixth of their CPU in the batch bench; the
 * plain copy's sink writes to the same kind of place as the OSS emulator, so the store comparison stays like for like.
 */
const dataDirs: string[] = [];
async function dataDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), prefix));
  dataDirs.push(dir);
  return dir;
}

// Killed by its bench: remove what it stored (memory, on /dev/shm) and exit cleanly, so a `--cpu-prof` of this child
// (bench/children.ts's CHILD_PROF) is written.
process.once("SIGTERM", () => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});

const { values } = parseArgs({
  options: {
    role: { type: "string", default: "cloud" },
    rtt: { type: "string", default: "0" },
    "oss-rtt": { type: "string", default: "0" },
    "synth-ms-per-char": { type: "string", default: "0" },
    cache: { type: "string", default: "false" },
    /** The account's quotas the emulators enforce (LocalCloudOptions.quotas), JSON. */
    quotas: { type: "string", default: "{}" },
    warm: { type: "string", default: "1" },
  },
});

if (values.role === "sink") {
  const dir = await dataDir("bench-sink-");
  // Does with a body what OSS does with any upload, whatever the client sends: hashes it (its ETag is the MD5) and
  // stores it. So the plain copy and the store step meet the same far-end work, and the comparison is the copiers'.
  const server = createServer((req, res) => {
    let n = 0;
    const md5 = createHash("md5");
    req.on("data", (d: Buffer) => {
      n += d.length;
      md5.update(d);
    });
    void pipeline(req, createWriteStream(join(dir, "sink.bin"))).then(() =>
      res.writeHead(200, { etag: `"${md5.digest("hex").toUpperCase()}"` }).end(String(n)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  process.stdout.write(
    `${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sink` })}\n`,
  );
} else if (values.role === "cloud") {
  const rtt = Number(values.rtt);
  const cloud = await startLocalCloud({
    dataDir: await dataDir("bench-stream-"),
    engine: new FastEngine({ synthMsPerChar: Number(values["synth-ms-per-char"]) }),
    gateway: { maxConcurrent: 100_000, frameBytes: 4096 },
    longText: { queueMs: 0, runMs: 0 },
    quotas: JSON.parse(values.quotas!) as LocalCloudOptions["quotas"],
  });
  cloud.nls.gateway.faults.handshakeDelayMs = 3 * rtt;
  cloud.nls.gateway.faults.messageDelayMs = rtt;
  cloud.dashscope.cosyvoice.faults.handshakeDelayMs = 3 * rtt;
  cloud.dashscope.cosyvoice.faults.messageDelayMs = rtt;
  cloud.oss.faults.latencyMs = Number(values["oss-rtt"]);
  // How many OSS requests the cloud has answered, for benches that count them (GET <statsUrl>).
  let ossRequests = 0;
  // And by operation and the key's first two levels (`jobs/budget`, `jobs/elect`…), to see where they go.
  const ossByKind: Record<string, number> = {};
  cloud.oss.observers.add(({ op, key }) => {
    ossRequests++;
    const kind = `${op} ${key.split("/").slice(0, 2).join("/")}`;
    ossByKind[kind] = (ossByKind[kind] ?? 0) + 1;
  });
  const stats = createServer((_req, res) => {
    const cpu = process.cpuUsage();
    res.end(
      JSON.stringify({
        ossRequests,
        ossByKind,
        cpuMs: (cpu.user + cpu.system) / 1000,
        quotas: Object.fromEntries(Object.entries(cloud.quotas).map(([api, gate]) => [api, gate.stats])),
      }),
    );
  });
  await new Promise<void>((resolve) => stats.listen(0, "127.0.0.1", resolve));
  const statsUrl = `http://127.0.0.1:${(stats.address() as AddressInfo).port}/`;
  process.stdout.write(`${JSON.stringify({ env: cloud.env(), statsUrl })}\n`);
} else {
  const env = {
    ...(JSON.parse(process.env.BENCH_ENV ?? "{}") as Record<string, string>),
    TTS_API_KEYS: "bench-key",
    TTS_CACHE: values.cache!,
    NLS_WARM_SOCKETS: values.warm!,
  };
  const { server } = createStreamServer(parseConfig(env), createLogger({ level: "error" }));
  server.maxConnections = 100_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`);
}
