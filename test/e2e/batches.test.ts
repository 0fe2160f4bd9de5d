import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { batchEvent, publish } from "../helpers/eventbridge.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { settle as settleAll } from "../helpers/jobs.js";
import { useLocalCloud } from "../helpers/local-cloud.js";
import { importSnippet, readmeSnippet } from "../helpers/readme-snippet.js";
import { useWebhookSink } from "../helpers/webhooks.js";

const cloud = useLocalCloud({ engine: new FastEngine(), longText: { queueMs: 5, runMs: 5 } });
const KEY = "batch-test-key";
const SECRET = "s".repeat(40);
const host = useFunctionHost(cloud, {
  TTS_API_KEYS: KEY,
  CALLBACK_SECRET: SECRET,
  WEBHOOK_ALLOW_PRIVATE: "true",
  BATCH_CONCURRENCY: "4",
});
const { hooks, url: hookAt } = useWebhookSink();
const settle = () => settleAll(host, cloud());

const event = batchEvent;

/** A producer's PutEvents to the batch bus (the official SDK, through the EventBridge emulator's rule). */
async function deliver(e: Record<string, unknown>): Promise<void> {
  expect((await publish(cloud(), [e])).failed).toBe(0);
}

/** Delivers `e` and waits for the stack to settle, with `observer` seeing every OSS request meanwhile. */
async function deliverWatched(
  e: Record<string, unknown>,
  observer: (e: { op: string; key: string; status: number }) => void,
): Promise<void> {
  cloud().oss.observers.add(observer);
  try {
    await deliver(e);
    await settle();
  } finally {
    cloud().oss.observers.delete(observer);
  }
}

describe("batch narration from EventBridge", () => {
  it("ends a batch of 50 with 3 failing items as 47 done and 3 failed with reasons, and exactly one signed webhook", async () => {
    const items = Array.from({ length: 50 }, (_, i) => ({ id: `item-${i}`, text: `第${i}条新闻的内容。` }));
    items[7] = { id: "item-7", text: "   " };
    (items[19] as Record<string, unknown>).overrides = { voice: "nobody" };
    cloud().nls.longText.faults.failNext.push({
      code: 41020001,
      message: "TTS:TtsClientError:[tts]Engine return error code: 413",
    });
    await deliver(
      event("evt-news-1", {
        batchId: "news-1",
        defaults: { voice: "siqi", format: "mp3", sampleRate: 16000 },
        items,
        outputPrefix: "output/news-1/",
        notify: { url: hookAt() },
      }),
    );
    await settle();
    const view = (await (
      await fetch(`${host.url}/v1/batches/news-1`, { headers: { authorization: `Bearer ${KEY}` } })
    ).json()) as {
      state: string;
      counts: Record<string, number>;
      items: Array<{ id: string; state: string; failure?: { reason: string } }>;
    };
    expect(view.state).toBe("partial");
    expect(view.counts).toEqual({ done: 47, failed: 3 });
    const failed = view.items.filter((i) => i.state === "failed");
    expect(failed.map((i) => i.id)).toEqual(expect.arrayContaining(["item-7", "item-19"]));
    expect(failed.find((i) => i.id === "item-7")?.failure?.reason).toMatch(/must contain text/);
    expect(failed.find((i) => i.id === "item-19")?.failure?.reason).toMatch(/unknown NLS voice "nobody"/);
    expect(failed.some((i) => /413|SSML/.test(i.failure?.reason ?? ""))).toBe(true);
    const done = view.items.find((i) => i.state === "done")!;
    expect((await host.platform.clients.storage.head(`output/news-1/${done.id}.mp3`))?.size).toBeGreaterThan(0);
    expect(hooks).toHaveLength(1);
    const hook = hooks[0]!;
    const expected = createHmac("sha256", SECRET)
      .update(`${hook.headers["x-tts-timestamp"]}.${hook.body}`)
      .digest("hex");
    expect(hook.headers["x-tts-signature"]).toBe(`v1=${expected}`);
    // The README's own verifier accepts it, and refuses a changed body, another secret and an old timestamp.
    const verifyWebhook = await readmeWebhookVerifier();
    expect(verifyWebhook(hook.headers, hook.body, SECRET)).toBe(true);
    expect(verifyWebhook(hook.headers, hook.body.replace("partial", "done"), SECRET)).toBe(false);
    expect(verifyWebhook(hook.headers, hook.body, "another-secret")).toBe(false);
    expect(verifyWebhook(hook.headers, hook.body, SECRET, Date.now() + 10 * 60_000)).toBe(false);
    expect(JSON.parse(hook.body)).toMatchObject({
      id: "news-1:final",
      batchId: "news-1",
      state: "partial",
      counts: { done: 47, failed: 3 },
    });
    // The delivery is recorded where the sender looks.
    const after = (await (
      await fetch(`${host.url}/v1/batches/news-1`, { headers: { authorization: `Bearer ${KEY}` } })
    ).json()) as { notify?: { status?: number; at?: string } };
    expect(after.notify).toMatchObject({ status: 200, at: expect.any(String) });
  }, 60_000);

  it("starts one batch when the same event is delivered twice", async () => {
    const before = cloud().nls.longText.stats.submitted;
    const e = event("evt-twice", {
      defaults: { voice: "siqi" },
      items: [
        { id: "a", text: "第一条。" },
        { id: "b", text: "第二条。" },
      ],
      outputPrefix: "output/twice/",
    });
    await Promise.all([deliver(e), deliver(e)]);
    await settle();
    await deliver(e);
    await settle();
    expect(cloud().nls.longText.stats.submitted - before).toBe(2);
  });

  it("keeps no more items in flight than the configured concurrency", async () => {
    let peak = 0;
    const longText = cloud().nls.longText;
    const timer = setInterval(() => (peak = Math.max(peak, longText.stats.submitted - longText.stats.callbacks)), 1);
    try {
      const before = { s: longText.stats.submitted, c: longText.stats.callbacks };
      await deliver(
        event("evt-bound", {
          defaults: { voice: "siqi" },
          items: Array.from({ length: 20 }, (_, i) => ({ id: `n${i}`, text: `第${i}条。` })),
          outputPrefix: "output/bound/",
        }),
      );
      await settle();
      expect(longText.stats.submitted - before.s).toBe(20);
      expect(peak - (before.s - before.c)).toBeLessThanOrEqual(4);
    } finally {
      clearInterval(timer);
    }
  });

  it("hands an item's slot on when its synthesis ends: the next item starts while the audio is stored", async () => {
    const order: string[] = [];
    const watch = (e: { op: string; key: string; status: number }): void => {
      if (e.op === "PutObject" && e.status === 200 && /(batch-early\/dispatch-\d+|output\/early\/.+\.mp3)$/.test(e.key))
        order.push(e.key.replace(/^.*\/(dispatch-\d+|[^/]+\.mp3)$/, "$1"));
    };
    await deliverWatched(
      event("evt-early", {
        batchId: "early",
        defaults: { voice: "siqi" },
        items: Array.from({ length: 5 }, (_, i) => ({ id: `e${i}`, text: `第${i}条。` })),
        outputPrefix: "output/early/",
        notify: { url: hookAt() },
      }),
      watch,
    );
    // Item e0's turn passes to e4 (four places on): e4 is dispatched before e0's audio is written.
    expect(order.indexOf("dispatch-00004")).toBeGreaterThan(-1);
    expect(order.indexOf("dispatch-00004")).toBeLessThan(order.indexOf("e0.mp3"));
    expect(order.filter((k) => k.endsWith(".mp3"))).toHaveLength(5);
    expect(hooks.filter((h) => (JSON.parse(h.body) as { batchId?: string }).batchId === "early")).toHaveLength(1);
  });

  it("hands each ended item's slot to its own successor: items ending together lose no dispatch election", async () => {
    // Every dispatch is a create-if-absent election; a lost one is a 409 on `dispatch-<i>`. Items that end together
    // used to race from one shared cursor, each losing an election per item it was behind.
    let lost = 0;
    let won = 0;
    let textReads = 0;
    const count = (e: { op: string; key: string; status: number }): void => {
      // A job's text is stored for a restart; the call that stores it passes it on rather than reading it back. Store
      // reads it once, for the coverage map.
      if (e.op === "GetObject" && e.key.includes("/texts/")) textReads++;
      if (e.op !== "PutObject" || !/batch-bunch\/dispatch-\d+$/.test(e.key)) return;
      if (e.status === 409) lost++;
      else if (e.status === 200) won++;
    };
    await deliverWatched(
      event("evt-bunch", {
        batchId: "bunch",
        defaults: { voice: "siqi" },
        // Equal texts: the items of a wave end together.
        items: Array.from({ length: 16 }, (_, i) => ({ id: `b${i}`, text: "同时结束的一句话。" })),
        outputPrefix: "output/bunch/",
      }),
      count,
    );
    expect(won).toBe(16);
    expect(lost).toBe(0);
    // Submission never reads a text back; store reads each once, to map its sentences onto the audio.
    expect(textReads).toBe(16);
  });

  it("records a webhook that failed in the batch's status, never silently", async () => {
    await deliver(
      event("evt-hook-fails", {
        batchId: "hook-fails",
        defaults: { voice: "siqi" },
        items: [{ id: "a", text: "一条。" }],
        outputPrefix: "output/hook-fails/",
        notify: { url: `${hookAt("/moved")}?secret=receiver-token-123` },
      }),
    );
    await settle();
    const view = (await (
      await fetch(`${host.url}/v1/batches/hook-fails`, { headers: { authorization: `Bearer ${KEY}` } })
    ).json()) as { state: string; notify?: { status?: number; error?: string; url?: string } };
    expect(view.state).toBe("done");
    // Every key reads a batch's status: it shows where the webhook went, never its path or query (issue 26, defect 6).
    expect(JSON.stringify(view)).not.toContain("receiver-token-123");
    expect(view.notify?.url).toBe(`${new URL(hookAt("/moved")).origin}/…`);
    expect(view.notify).toMatchObject({ status: 302, error: expect.stringMatching(/redirect/) });
  });

  it("answers a dry run (dryRun: true) with its quote at its webhook, making nothing; the same event then starts it", async () => {
    const before = cloud().nls.longText.stats.submitted;
    const data = {
      batchId: "dry-run",
      defaults: { voice: "siqi" },
      items: [
        { id: "a", text: "第一条，试算。" },
        { id: "b", text: "第二条，也是试算。" },
      ],
      outputPrefix: "output/dry-run/",
      notify: { url: hookAt("/dry-run") },
    };
    await deliver(event("evt-dry-run", { ...data, dryRun: true }));
    await settle();
    const hook = hooks.find((h) => h.path === "/dry-run");
    expect(hook?.headers["x-tts-signature"]).toMatch(/^v1=[0-9a-f]{64}$/);
    const quoted = JSON.parse(hook!.body) as { type: string; batchId: string; quote: Record<string, unknown> };
    expect(quoted).toMatchObject({ type: "tts.batch.quoted", batchId: "dry-run", quote: { kind: "batch" } });
    // The quote POST /v1/quotes gives for the same body.
    const viaApi = await fetch(`${host.url}/v1/quotes`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify(data),
    });
    expect(quoted.quote).toEqual(await viaApi.json());
    // Nothing was made: no task, no batch.
    expect(cloud().nls.longText.stats.submitted).toBe(before);
    const none = await fetch(`${host.url}/v1/batches/dry-run`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(none.status).toBe(404);
    // The same event without dryRun starts the batch it quoted.
    await deliver(event("evt-dry-run", data));
    await settle();
    const view = (await (
      await fetch(`${host.url}/v1/batches/dry-run`, { headers: { authorization: `Bearer ${KEY}` } })
    ).json()) as { state: string };
    expect(view.state).toBe("done");
    expect(cloud().nls.longText.stats.submitted - before).toBe(2);
  });

  it("refuses a batch writing outside the output prefix", async () => {
    const res = await host.invoke(
      "submit",
      event("evt-bad", { items: [{ id: "a", text: "x" }], outputPrefix: "input/evil/" }),
    );
    expect(res).toMatchObject({ state: "rejected", error: { field: "data.outputPrefix" } });
  });
});

/** The verifier the README shows (the ```js block after `<!-- webhook-verify -->`), imported as written. */
async function readmeWebhookVerifier(): Promise<
  (headers: Record<string, unknown>, body: string, secret: string, nowMs?: number) => boolean
> {
  const code = await readmeSnippet("webhook-verify");
  return (await importSnippet<{ verifyWebhook: never }>("webhook-verify", code.replace(/^ {2}/gm, ""))).verifyWebhook;
}
