/**
 * The local cloud with the fast engine and no NLS queueing, and the functions' host over it, in this process: what
 * the whole-pipeline benches run on. Stopped, and its folder removed, whatever `run` does.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FastEngine } from "../infra/local/audio/fast-engine.js";
import { type LocalCloud, startLocalCloud } from "../infra/local/cloud.js";
import { type FunctionHost, startFunctionHost } from "../infra/local/host.js";
import { createLogger } from "../lib/log.js";

export async function withFastStack<T>(
  name: string,
  env: Record<string, string>,
  run: (stack: { cloud: LocalCloud; host: FunctionHost }) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), `bench-${name}-`));
  const cloud = await startLocalCloud({ dataDir: dir, engine: new FastEngine(), longText: { queueMs: 0, runMs: 0 } });
  const host = await startFunctionHost({
    env: { ...cloud.env(), ...env },
    log: createLogger({ level: (process.env.BENCH_LOG as "error") ?? "error" }),
    cloud,
  });
  try {
    return await run({ cloud, host });
  } finally {
    await host.stop();
    await cloud.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
