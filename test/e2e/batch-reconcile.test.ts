/**
 * reconcile and batches: an item waiting for a batch slot is not reconcile's to submit (that would break the batch's
 * concurrency bound), but a batch whose dispatch was lost is re-driven by reconcile.
 */

import { describe, expect, it } from "vitest";
import { batchEventOf } from "../../functions/_fc/events.js";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { iceProvider, nlsProvider } from "../../lib/jobs/providers.js";
import { JobService } from "../../lib/jobs/service.js";
import { createLogger } from "../../lib/log.js";
import { createJobRuntime } from "../../lib/runtime.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { settle as settleAll } from "../helpers/jobs.js";
import { eventually, useLocalCloud } from "../helpers/local-cloud.js";

// Each task takes 20 ms per character in the emulator: a 40-character item is in flight for most of a second.
const cloud = useLocalCloud({ engine: new FastEngine({ synthMsPerChar: 20 }), longText: { queueMs: 5, runMs: 5 } });
const host = useFunctionHost(cloud, {
  TTS_API_KEYS: "batch-reconcile-key",
  BATCH_CONCURRENCY: "2",
  RECONCILE_STALE_SECONDS: "0",
});
const settle = () => settleAll(host, cloud());

const event = (id: string, n: number) => ({
  id,
  source: "tts.batch",
  specversion: "1.0",
  type: "tts:Batch:Submitted",
  data: {
    batchId: id,
    defaults: { voice: "siqi" },
    items: Array.from({ length: n }, (_, i) => ({ id: `i${i}`, text: `第${i}条新闻。`.repeat(6) })),
    outputPrefix: `output/${id}/`,
  },
});

describe("reconcile and batch items", () => {
  it("leaves items waiting for a batch slot alone, so the batch's bound holds", async () => {
    const longText = cloud().nls.longText;
    const before = longText.stats.submitted;
    const inFlight = () => longText.stats.submitted - before - (longText.stats.callbacks - callbacksBefore);
    const callbacksBefore = longText.stats.callbacks;
    await host.invoke("submit", event("b-bound", 6));
    // The two dispatched items are running: submitted to NLS, and their records say so (with RECONCILE_STALE_SECONDS=0
    // a record still "queued" while its submission is under way would look stale to reconcile).
    const rt = host.platform.jobs();
    const manifest = (await rt.batches.manifest("b-bound"))!;
    await eventually(
      async () =>
        (await Promise.all(manifest.items.slice(0, 2).map((i) => rt.jobs.get(i.jobId!)))).every(
          (j) => j?.state === "submitted",
        ),
      5000,
    );
    expect(longText.stats.submitted - before).toBe(2);
    await host.trigger("reconcile");
    expect(inFlight()).toBeLessThanOrEqual(2);
    await settle();
    expect(longText.stats.submitted - before).toBe(6);
    expect(await rt.batches.view("b-bound")).toMatchObject({ state: "done", counts: { done: 6 } });
  }, 30_000);

  it("re-drives a batch whose dispatch was lost: reconcile hands the next item a slot", async () => {
    const rt = host.platform.jobs();
    const longText = cloud().nls.longText;
    const before = longText.stats.submitted;
    // The batch is started with every dispatch lost (as if FC had dropped the async invocations).
    const deaf = createJobRuntime(
      host.platform.config,
      host.platform.clients,
      { invokeAsync: async () => undefined },
      createLogger({ level: "error" }),
    );
    await deaf.batches.start(batchEventOf(event("b-lost", 3)));
    await host.idle();
    expect(longText.stats.submitted - before).toBe(0);
    await host.trigger("reconcile");
    await settle();
    expect(longText.stats.submitted - before).toBe(3);
    expect(await rt.batches.view("b-lost")).toMatchObject({ state: "done", counts: { done: 3 } });
  }, 30_000);

  it("reads each item's job record a bounded number of times, not once per item that ends (no O(n²))", async () => {
    const n = 60;
    let recordReads = 0;
    const count = (e: { op: string; key: string }) =>
      void (e.op === "GetObject" && e.key.startsWith("jobs/records/") && recordReads++);
    cloud().oss.observers.add(count);
    try {
      const items = Array.from({ length: n }, (_, i) => ({ id: `s${i}`, text: `第${i}条。` }));
      await host.invoke("submit", {
        ...event("b-scale", 0),
        data: { batchId: "b-scale", defaults: { voice: "siqi" }, items, outputPrefix: "output/b-scale/" },
      });
      await settle();
      expect(await host.platform.jobs().batches.view("b-scale")).toMatchObject({ state: "done", counts: { done: n } });
      // Each job's own steps read its record a handful of times; recounting the batch on every end would read n² (3,600).
      expect(recordReads).toBeLessThan(10 * n); // 8 per item here
    } finally {
      cloud().oss.observers.delete(count);
    }
  }, 60_000);

  it("does not time out batch items that waited more than 3 hours for a slot", async () => {
    const rt = host.platform.jobs();
    const deaf = createJobRuntime(
      host.platform.config,
      host.platform.clients,
      { invokeAsync: async () => undefined },
      createLogger({ level: "error" }),
    );
    await deaf.batches.start(batchEventOf(event("b-wait", 3)));
    const later = new JobService({
      jobs: rt.jobs,
      storage: rt.clients.storage,
      providers: {
        nls: nlsProvider(rt.clients.longText),
        ice: iceProvider(rt.clients.ice, rt.clients.storage.bucket),
        minimax: undefined,
      },
      invoker: { invokeAsync: async () => undefined },
      log: rt.log,
      callbackSecret: rt.config.CALLBACK_SECRET!,
      outputPrefix: rt.config.OSS_OUTPUT_PREFIX,
      now: () => new Date(Date.now() + 3 * 3600_000 + 60_000),
    });
    await later.reconcile();
    const view = (await rt.batches.view("b-wait")) as { items: Array<{ state: string }> };
    expect(view.items.map((i) => i.state)).not.toContain("failed");
  });
});

describe("batches at the schema's maximum", () => {
  /** OSS requests made while `fn` runs (its own, not what it leaves queued for later). */
  async function requestsOf(fn: () => Promise<unknown>): Promise<number> {
    let n = 0;
    const count = (): void => void n++;
    cloud().oss.observers.add(count);
    try {
      await fn();
    } finally {
      cloud().oss.observers.delete(count);
    }
    return n;
  }
  const big = (id: string, n: number) => ({
    ...event(id, 0),
    data: {
      batchId: id,
      defaults: { voice: "siqi" },
      items: Array.from({ length: n }, (_, i) => ({ id: `i${i}`, text: `第${i}条。` })),
      outputPrefix: `output/${id}/`,
    },
  });

  it("starts and reports a 10,000-item batch with as many OSS requests as a 10-item one", async () => {
    // A runtime whose async invocations go nowhere: only the start's and the report's own requests are counted.
    const deaf = createJobRuntime(
      host.platform.config,
      host.platform.clients,
      { invokeAsync: async () => undefined },
      createLogger({ level: "error" }),
    );
    const small = await requestsOf(() => deaf.batches.start(batchEventOf(big("b-10", 10))));
    const large = await requestsOf(() => deaf.batches.start(batchEventOf(big("b-10k", 10_000))));
    expect(large).toBe(small);
    expect(large).toBeLessThan(20);
    const view = await requestsOf(async () =>
      expect(await deaf.batches.view("b-10k")).toMatchObject({
        state: "running",
        counts: { running: 2, queued: 9_998 },
      }),
    );
    expect(view).toBeLessThan(40); // the manifest, the specs and 10 listing pages each of two marker kinds, at most
    // Left running, they would be re-driven by the next test's reconcile: out of reconcile's sight they go.
    for (const id of ["b-10", "b-10k"]) await host.platform.clients.storage.delete(`jobs/batch-pending/${id}`);
  }, 60_000);

  it("finishes a batch whose elected finisher died after its election, on reconcile", async () => {
    const storage = host.platform.clients.storage;
    await storage.put("jobs/elect/batch-b-final/final", "2000-01-01T00:00:00.000Z crashed-finisher", {
      contentType: "text/plain",
    });
    await host.invoke("submit", event("b-final", 3));
    await settle();
    expect((await host.platform.jobs().batches.manifest("b-final"))?.state).toBe("running");
    expect(await host.platform.jobs().batches.view("b-final")).toMatchObject({ counts: { done: 3 } });
    await host.trigger("reconcile");
    await settle();
    expect(await host.platform.jobs().batches.view("b-final")).toMatchObject({ state: "done", counts: { done: 3 } });
    expect(await storage.head("jobs/batch-pending/b-final")).toBeUndefined();
  }, 30_000);
});
