/**
 * One provider budget for the account: a batch, two tenants' jobs and a listener's streams share MiniMax's quota,
 * which the emulator enforces as DashScope does (429 Throttling.RateQuota). The budget keeps every call within it, so
 * no caller ever meets a throttling error, streams are never refused, and the small tenants are not starved.
 */
import { describe, expect, it } from "vitest";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { batchEvent, publish } from "../helpers/eventbridge.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { ownOutput, settle as settleAll, submitJob } from "../helpers/jobs.js";
import { useLocalCloud, userOss } from "../helpers/local-cloud.js";

const QUOTA = { concurrency: 4, perSecond: 40 };
// Each call takes a while (2 ms a character), so calls overlap and the quota is what bounds them.
const cloud = useLocalCloud({ engine: new FastEngine({ synthMsPerChar: 2 }), quotas: { minimax: QUOTA } });
const KEYS = ["budget-tenant-a1", "budget-tenant-b1"];
const host = useFunctionHost(cloud, {
  TTS_API_KEYS: KEYS.join(","),
  BATCH_CONCURRENCY: "16",
  JOBS_PART_CHARS: "100",
  PROVIDER_BUDGET: JSON.stringify({ minimax: { ...QUOTA, interactive: 1, interactivePerSecond: 5 } }),
});
const settle = () => settleAll(host, cloud());
const VOICE = "male-qn-qingse";

describe("one provider budget for the account", () => {
  it("runs a batch, two tenants' jobs and a listener's streams within MiniMax's quota: no throttling reaches anyone", async () => {
    const quota = cloud().quotas.minimax;
    quota.reset();
    const items = Array.from({ length: 60 }, (_, i) => ({ id: `n${i}`, text: `第${i}条新闻，今天的天气很好。` }));
    await userOss(cloud()).put("input/budget/items.jsonl", Buffer.from(items.map((i) => JSON.stringify(i)).join("\n")));
    const published = await publish(cloud(), [
      batchEvent("budget-batch", {
        batchId: "budget-batch",
        itemsFrom: { key: "input/budget/items.jsonl" },
        defaults: { provider: "minimax", voice: VOICE, format: "mp3", subtitles: [] },
        outputPrefix: "output/budget/",
      }),
    ]);
    expect(published.failed).toBe(0);
    // Two tenants' jobs, each split into parts that ask for the same quota.
    const text = Array.from({ length: 12 }, (_, i) => `这是第${i}句话，用来测试预算。`).join("");
    const jobIds = await Promise.all(
      KEYS.map((key) =>
        submitJob(host, key, {
          provider: "minimax",
          voice: VOICE,
          text,
          format: "mp3",
          subtitles: [],
          output: { key: ownOutput(key, "budget/job.mp3") },
        }),
      ),
    );
    // A listener asks for short speech one request after another while the rest runs.
    const streams: number[] = [];
    const listener = (async () => {
      for (let i = 0; i < 12; i++) {
        const res = await fetch(`${host.url}/v1/stream`, {
          method: "POST",
          headers: { authorization: `Bearer ${KEYS[0]}`, "content-type": "application/json" },
          body: JSON.stringify({ provider: "minimax", voice: VOICE, text: `第${i}个问题的回答。`, format: "mp3" }),
        });
        await res.arrayBuffer();
        streams.push(res.status);
      }
    })();
    await listener;
    await settle();

    expect(streams).toEqual(Array(12).fill(200));
    const rt = host.platform.jobs();
    for (const id of jobIds) expect((await rt.jobs.get(id))?.state).toBe("done");
    const manifest = await rt.batches.manifest("budget-batch");
    expect(manifest?.state).toBe("done");
    expect(manifest?.items.every((i) => i.state === "done")).toBe(true);
    // Not one call over the quota, so not one throttling answer to retry or to pass on.
    expect(quota.stats.refused).toBe(0);
    expect(quota.stats.peak).toBeLessThanOrEqual(QUOTA.concurrency);
    expect(quota.stats.admitted).toBeGreaterThanOrEqual(60 + 12 + 2);
  });
});
