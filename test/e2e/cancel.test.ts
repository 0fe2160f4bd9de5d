/**
 * Cancel: `DELETE /v1/jobs/{id}` and `DELETE /v1/batches/{id}`. No provider task starts after the answer; tasks already
 * running finish, are billed, and their audio is kept; the record says cancelled and what was billed.
 */
import { describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { batchEvent, publish } from "../helpers/eventbridge.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { settle as settleAll, submitJob } from "../helpers/jobs.js";
import { eventually, useLocalCloud } from "../helpers/local-cloud.js";
import { useWebhookSink } from "../helpers/webhooks.js";

// Long-text tasks take a while in the emulator, so the cancel lands while some are running and others wait.
const cloud = useLocalCloud({ engine: new FastEngine(), longText: { queueMs: 300, runMs: 50 } });
const KEYS = ["cancel-key-0001", "cancel-key-0002"];
const host = useFunctionHost(cloud, {
  TTS_API_KEYS: KEYS.join(","),
  JOBS_PART_CHARS: "100",
  JOBS_PART_CONCURRENCY: "2",
  BATCH_CONCURRENCY: "2",
  WEBHOOK_ALLOW_PRIVATE: "true",
});
const { hooks, url: hookAt } = useWebhookSink();
const settle = () => settleAll(host, cloud());

const call = async (method: string, path: string, key = KEYS[0]) => {
  const res = await fetch(`${host.url}${path}`, { method, headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json()) as View };
};

/** What the job and batch views answer, as far as these tests read them. */
interface View {
  state: string;
  cancelled: { billedCharacters: number };
  items: Array<{ state: string }>;
  counts: Record<string, number>;
}

describe("cancel", () => {
  it("cancels a split job: no task starts after the answer, the running parts finish and are billed", async () => {
    const text = Array.from({ length: 60 }, (_, i) => `这是第${i}句话，要切成很多部分。`).join("");
    const longText = cloud().nls.longText.stats;
    const start = longText.submitted;
    const id = await submitJob(host, KEYS[0]!, { provider: "nls", voice: "siqi", text, format: "mp3" });
    await eventually(() => longText.submitted - start >= 2, 10_000);
    // Another key's cancel is answered as for a job that does not exist.
    expect((await call("DELETE", `/v1/jobs/${id}`, KEYS[1])).status).toBe(404);
    const answer = await call("DELETE", `/v1/jobs/${id}`);
    const atAnswer = longText.submitted;
    expect(answer.status).toBe(200);
    await settle();
    expect(longText.submitted).toBe(atAnswer);
    const view = (await call("GET", `/v1/jobs/${id}`)).body;
    const job = (await host.platform.jobs().jobs.get(id))!;
    expect(view.state).toBe("cancelled");
    const started = atAnswer - start;
    expect(started).toBeLessThan(job.parts!.length);
    expect(view.cancelled.billedCharacters).toBe(job.parts!.slice(0, started).reduce((n, p) => n + p.characters, 0));
    // The parts that ran kept their audio.
    for (const part of job.parts!.slice(0, started)) {
      const record = (await host.platform.jobs().jobs.get(part.jobId))!;
      expect(record.state).toBe("done");
      expect(await host.platform.clients.storage.head(record.output.audioKey)).toBeDefined();
    }
    // A second cancel answers the same record; an ended job is not cancelled.
    expect((await call("DELETE", `/v1/jobs/${id}`)).body.state).toBe("cancelled");
    const other = await submitJob(host, KEYS[0]!, { provider: "nls", voice: "siqi", text: "短的。", format: "mp3" });
    await settle();
    expect(await call("DELETE", `/v1/jobs/${other}`)).toMatchObject({
      status: 409,
      body: { error: { code: "AlreadyEnded" } },
    });
  });

  it("cancels a batch: nothing is dispatched after it, it ends cancelled, and its webhook says so", async () => {
    const items = Array.from({ length: 20 }, (_, i) => ({ id: `c${i}`, text: `第${i}条。` }));
    const longText = cloud().nls.longText.stats;
    const start = longText.submitted;
    await publish(cloud(), [
      batchEvent("cancel-batch", {
        batchId: "cancel-batch",
        items,
        defaults: { voice: "siqi", format: "mp3" },
        outputPrefix: "output/cancel/",
        notify: { url: hookAt() },
      }),
    ]);
    await eventually(() => longText.submitted - start >= 2, 10_000);
    const answer = await call("DELETE", "/v1/batches/cancel-batch");
    const atAnswer = longText.submitted;
    expect(answer.status).toBe(200);
    await settle();
    expect(longText.submitted).toBe(atAnswer);
    const view = (await call("GET", "/v1/batches/cancel-batch")).body;
    expect(view.state).toBe("cancelled");
    const done = view.items.filter((i) => i.state === "done").length;
    expect(done).toBe(atAnswer - start);
    expect(view.counts.cancelled! + (view.counts.failed ?? 0) + done).toBe(20);
    expect(view.counts.cancelled).toBeGreaterThan(10);
    const hook = hooks.find((h) => h.body.includes("cancel-batch"));
    expect(JSON.parse(hook!.body)).toMatchObject({ batchId: "cancel-batch", state: "cancelled" });
  });
});
