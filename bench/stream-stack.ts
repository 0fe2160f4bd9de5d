/**
 * Child process of `npm run bench:stream`: the local cloud (with the tone engine) and the stream function's real
 * server, so the parent can load it over sockets and read this process's peak RSS from /proc.
 * Arguments: `--rtt <ms>` models the network to NLS (each connection's TCP, TLS and WebSocket handshakes cost 3 round
 * trips, each request frame one), `--cache true|false` the speech cache, `--warm N` NLS_WARM_SOCKETS (1 by default,
 * as s.yaml deploys the stream function; 0 measures it without warm connections).
 * Prints one JSON line with the URLs and the environment, then serves until killed.
 */

import { mkdtemp } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createStreamServer } from "../functions/stream/server.js";
import { FastEngine } from "../infra/local/audio/fast-engine.js";
import { startLocalCloud } from "../infra/local/cloud.js";
import { parseConfig } from "../lib/config.js";
import { createLogger } from "../lib/log.js";

const { values } = parseArgs({
  options: {
    rtt: { type: "string", default: "0" },
    cache: { type: "string", default: "false" },
    warm: { type: "string", default: "1" },
  },
});
const rtt = Number(values.rtt);
const cloud = await startLocalCloud({
  dataDir: await mkdtemp(join(tmpdir(), "bench-stream-")),
  engine: new FastEngine(),
  gateway: { maxConcurrent: 100_000, frameBytes: 4096 },
});
cloud.nls.gateway.faults.handshakeDelayMs = 3 * rtt;
cloud.nls.gateway.faults.messageDelayMs = rtt;
const env = { ...cloud.env(), TTS_API_KEYS: "bench-key", TTS_CACHE: values.cache!, NLS_WARM_SOCKETS: values.warm! };
const { server } = createStreamServer(parseConfig(env), createLogger({ level: "error" }), {});
server.maxConnections = 100_000;
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, env })}\n`);
