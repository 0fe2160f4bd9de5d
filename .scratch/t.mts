import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FastEngine } from "/work/main/infra/local/audio/fast-engine.js";
import { startLocalCloud } from "/work/main/infra/local/cloud.js";

const t0 = performance.now();
const c = await startLocalCloud({ dataDir: await mkdtemp(join(tmpdir(), "x-")), engine: new FastEngine() });
const t1 = performance.now();
await c.stop();
console.log("start", (t1 - t0).toFixed(1), "stop", (performance.now() - t1).toFixed(1));
