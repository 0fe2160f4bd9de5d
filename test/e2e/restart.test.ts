/**
 * The local cloud keeps its word across a restart, as the real services do: a long-text task under way when the stack
 * stops is still known, and finished, after it starts again on the same data directory (the functions find it by
 * polling; its callback went to the old address).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { startLocalCloud } from "../../infra/local/cloud.js";
import { startFunctionHost } from "../../infra/local/host.js";
import { createLogger } from "../../lib/log.js";
import { settle } from "../helpers/jobs.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("restarting the local stack", () => {
  it("finishes a long-text job that was under way when the stack stopped", async () => {
    const dir = await mkdtemp(join(tmpdir(), "restart-"));
    dirs.push(dir);
    const env = (cloud: Awaited<ReturnType<typeof startLocalCloud>>) => ({
      ...cloud.env(),
      TTS_API_KEYS: "restart-key-01",
      CALLBACK_SECRET: "r".repeat(40),
      RECONCILE_STALE_SECONDS: "0",
    });
    const log = createLogger({ level: "error" });

    // First run: the task is queued for 2 s, and the stack stops (as a crash would) before it runs.
    // Both runs use the same data directory and AccessKey; only how long a task stays queued differs.
    const start = (queueMs: number) =>
      startLocalCloud({
        dataDir: dir,
        engine: new FastEngine(),
        accessKey: { id: "restart-ak", secret: "restart-sk" },
        longText: { queueMs, runMs: 5 },
      });
    const first = await start(2000);
    const host1 = await startFunctionHost({ env: env(first), log, cloud: first });
    const res = await fetch(`${host1.url}/v1/jobs`, {
      method: "POST",
      headers: { authorization: "Bearer restart-key-01", "content-type": "application/json" },
      body: JSON.stringify({ text: "重启之前提交的任务。" }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await first.stop({ crash: true });
    await host1.stop();

    // Second run, same data directory: the task is still NLS's, it finishes, and reconcile finds it done.
    const second = await start(5);
    const host2 = await startFunctionHost({ env: env(second), log, cloud: second });
    try {
      expect(second.appKey).toBe(first.appKey);
      await settle(host2, second);
      await host2.trigger("reconcile");
      await settle(host2, second);
      const job = (await host2.platform.jobs().jobs.get(id))!;
      expect(job.failure).toBeUndefined();
      expect(job.state).toBe("done");
      expect((await host2.platform.clients.storage.head(job.output.audioKey))?.size).toBeGreaterThan(0);
    } finally {
      await host2.stop();
      await second.stop();
    }
  }, 60_000);
});
