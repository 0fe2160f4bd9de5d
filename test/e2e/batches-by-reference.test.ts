/**
 * Batches beyond what one event may carry: an async invocation takes at most 128 KB and PutEvents at most 256 KB, so
 * a batch of thousands of items travels as an OSS object's key (`itemsFrom`), or as an uploaded batch file.
 */

import { describe, expect, it } from "vitest";
import { batchEventOf } from "../../functions/_fc/events.js";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { createJobRuntime } from "../../lib/runtime.js";
import { batchEvent, publish } from "../helpers/eventbridge.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { settle as settleAll } from "../helpers/jobs.js";
import { useLocalCloud, userOss } from "../helpers/local-cloud.js";

const cloud = useLocalCloud({ engine: new FastEngine(), longText: { queueMs: 1, runMs: 1 } });
const KEY = "batch-ref-key-01";
const host = useFunctionHost(cloud, { TTS_API_KEYS: KEY, BATCH_CONCURRENCY: "8" });
const settle = () => settleAll(host, cloud());

const event = batchEvent;

const jsonl = (rows: readonly unknown[]): Buffer => Buffer.from(`${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);

async function view(batchId: string): Promise<{ state: string; counts: Record<string, number>; items: unknown[] }> {
  const res = await fetch(`${host.url}/v1/batches/${batchId}`, { headers: { authorization: `Bearer ${KEY}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as { state: string; counts: Record<string, number>; items: unknown[] };
}

describe("batches by reference", () => {
  it("loses an inline batch over 128 KB between EventBridge and submit, and runs the same items by reference", async () => {
    // About 2,600 key-only items: under PutEvents' 256 KB, over an async invocation's 128 KB.
    const items = Array.from({ length: 2600 }, (_, i) => ({ id: `k${i}`, input: { key: `input/ref/ch-${i}.txt` } }));
    const inline = event("ref-inline", { batchId: "ref-inline", items, outputPrefix: "output/ref-inline/" });
    expect((await publish(cloud(), [inline])).failed).toBe(0);
    await settle();
    const entry = cloud().eventbridge.log.find((e) => e.id === "ref-inline");
    expect(entry).toMatchObject({ outcome: "failed", reason: expect.stringContaining("EntityTooLarge") });
    expect(
      (await fetch(`${host.url}/v1/batches/ref-inline`, { headers: { authorization: `Bearer ${KEY}` } })).status,
    ).toBe(404);

    // By reference: a small event, the items in an object under the input prefix.
    const few = Array.from({ length: 12 }, (_, i) => ({ id: `s${i}`, text: `第${i}段。` }));
    await userOss(cloud()).put("input/ref/items.jsonl", jsonl(few));
    const byRef = event("ref-key", {
      batchId: "ref-key",
      itemsFrom: { key: "input/ref/items.jsonl" },
      outputPrefix: "output/ref-key/",
    });
    expect((await publish(cloud(), [byRef])).failed).toBe(0);
    await settle();
    const done = await view("ref-key");
    expect(done.state).toBe("done");
    expect(done.counts).toEqual({ done: 12 });
    const listed = await userOss(cloud()).list({ prefix: "output/ref-key/", "max-keys": 100 }, {});
    expect(listed.objects.filter((o) => o.name.endsWith(".mp3"))).toHaveLength(12);
  });

  it("refuses a PutEvents request over 256 KB as EventBridge does, before any delivery", async () => {
    const items = Array.from({ length: 5000 }, (_, i) => ({ id: `k${i}`, input: { key: `input/ref/ch-${i}.txt` } }));
    const huge = event("ref-huge", { batchId: "ref-huge", items, outputPrefix: "output/ref-huge/" });
    await expect(publish(cloud(), [huge])).rejects.toThrow(/256 KB/);
    expect(cloud().eventbridge.log.find((e) => e.id === "ref-huge")).toBeUndefined();
  });

  it("starts a batch from an uploaded batch file (a header line, then the items), once per version", async () => {
    const rows = [
      { batch: { batchId: "ref-upload", outputPrefix: "output/ref-upload/", defaults: { voice: "xiaoyun" } } },
      ...Array.from({ length: 5 }, (_, i) => ({ id: `u${i}`, text: `上传的第${i}段。` })),
    ];
    await userOss(cloud()).put("input/ref/book.batch.jsonl", jsonl(rows));
    await settle();
    expect(await view("ref-upload")).toMatchObject({ state: "done", counts: { done: 5 } });
  });

  it("answers a bad line by its line number, and an items file outside the input prefix by its field", async () => {
    await userOss(cloud()).put(
      "input/ref/bad.batch.jsonl",
      Buffer.from(
        '{"batch":{"batchId":"ref-bad","outputPrefix":"output/ref-bad/"}}\n{"id":"a","text":"好。"}\n{"id":\n',
      ),
    );
    await settle();
    const rejected = await view("ref-bad");
    expect(rejected.state).toBe("rejected");
    expect(JSON.stringify(rejected)).toContain("input/ref/bad.batch.jsonl line 3");

    const outside = event("ref-outside", {
      batchId: "ref-outside",
      itemsFrom: { key: "jobs/records/x.json" },
      outputPrefix: "output/x/",
    });
    expect((await publish(cloud(), [outside])).failed).toBe(0);
    await settle();
    const refused = await view("ref-outside");
    expect(refused.state).toBe("rejected");
    expect(JSON.stringify(refused)).toContain("data.itemsFrom.key");
  });

  it("starts a batch of 10,000 items by reference with a bounded number of OSS requests", async () => {
    const items = Array.from({ length: 10_000 }, (_, i) => ({ id: `t${i}`, text: `第${i}段。` }));
    await userOss(cloud()).put("input/ref/ten-thousand.jsonl", jsonl(items));
    // submit's own configuration and clients, with FC's queue held: the dispatched items are counted, not run.
    const p = host.platform;
    const dispatched: unknown[] = [];
    const rt = createJobRuntime(
      p.config,
      p.clients,
      { invokeAsync: async (_f, payload) => void dispatched.push(payload) },
      p.log,
    );
    let requests = 0;
    const count = (): void => void requests++;
    cloud().oss.observers.add(count);
    try {
      const manifest = await rt.batches.start(
        batchEventOf(
          event("ref-10k", {
            batchId: "ref-10k",
            itemsFrom: { key: "input/ref/ten-thousand.jsonl" },
            outputPrefix: "output/ref-10k/",
          }),
        ),
      );
      expect(manifest.items).toHaveLength(10_000);
      expect(manifest.items.every((i) => i.state === "queued")).toBe(true);
      // The items file, the specs, the manifest, the pending marker and the first wave's dispatch elections: not per item.
      expect(requests).toBeLessThan(60);
      expect(dispatched).toHaveLength(8);
    } finally {
      cloud().oss.observers.delete(count);
    }
  });
});
