/**
 * Child process of `npm run bench:stream`: the local cloud (with the tone engine) and the stream function's real
 * server, so the parent can load it over sockets and read this process's peak RSS from /proc.
 * Prints one JSON line with the URLs and the environment, then serves until killed.
 */
import { mkdtemp } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStreamServer } from "../functions/stream/server.js";
import { FastEngine } from "../infra/local/audio/fast-engine.js";
import { startLocalCloud } from "../infra/local/cloud.js";
import { parseConfig } from "../lib/config.js";
import { createLogger } from "../lib/log.js";

const cloud = await startLocalCloud({
  dataDir: await mkdtemp(join(tmpdir(), "bench-stream-")),
  engine: new FastEngine(),
  gateway: { maxConcurrent: 100_000, frameBytes: 4096 },
});
const env = { ...cloud.env(), TTS_API_KEYS: "bench-key", TTS_CACHE: "false" };
const { server } = createStreamServer(parseConfig(env), createLogger({ level: "error" }), {});
server.maxConnections = 100_000;
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, env })}\n`);
