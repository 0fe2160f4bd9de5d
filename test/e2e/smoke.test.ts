/**
 * `npm run smoke` is the check users run against their deployment, which no test here can reach: the same checks run
 * against the local stack, so they are known to work, and a broken wiring makes them fail with the fix to make.
 */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { batchRoute } from "../../infra/deploy/batch-route.js";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";
import { formatResults, runSmoke, type SmokeTarget } from "../../infra/smoke/checks.js";
import { useFunctionHost } from "../helpers/function-host.js";
import { useLocalCloud } from "../helpers/local-cloud.js";
import { useWebhookSink } from "../helpers/webhooks.js";

const cloud = useLocalCloud({ engine: new FastEngine(), longText: { queueMs: 5, runMs: 5 }, ice: { createdMs: 5 } });
const KEY = "smoke-key-0123456789";
const host = useFunctionHost(cloud, { TTS_API_KEYS: KEY, WEBHOOK_ALLOW_PRIVATE: "true" }, { timerMs: 500 });
const { hooks, url: hookAt } = useWebhookSink();

const target = (): SmokeTarget => {
  const env = cloud().env();
  return {
    streamUrl: host.url,
    speechUrl: host.url,
    apiKey: KEY,
    providers: ["nls", "ice", "minimax"],
    oss: {
      bucket: cloud().bucket,
      region: cloud().region,
      endpoint: cloud().urls.oss,
      accessKeyId: env.ALIBABA_CLOUD_ACCESS_KEY_ID!,
      accessKeySecret: env.ALIBABA_CLOUD_ACCESS_KEY_SECRET!,
      pathStyle: true,
    },
    inputPrefix: "input/",
    outputPrefix: "output/",
    eventbridge: { endpoint: cloud().urls.eventbridge, bus: batchRoute().bus },
    timeoutMs: 20_000,
    callbackWithinMs: 10_000,
    webhookUrl: hookAt(),
  };
};

describe("npm run smoke, against the local stack", () => {
  it("passes every check: stream over HTTP and WebSocket, a job per provider by callback, an upload, a batch", async () => {
    const results = await runSmoke(target());
    expect(formatResults(results)).not.toMatch(/FAIL/);
    expect(results.map((r) => r.check)).toEqual([
      "stream: POST /v1/stream",
      "stream: NLS-compatible WebSocket /ws/v1",
      "job: nls",
      "job: ice",
      "job: minimax",
      "upload: a .txt under the input prefix",
      "batch: two items through the EventBridge bus",
    ]);
    expect(results.filter((r) => r.fix)).toEqual([]);
    expect(results.at(-1)!.detail).toMatch(/webhook answered 200/);
    expect(hooks.filter((h) => JSON.parse(h.body).type === "tts.batch.finished")).toHaveLength(1);
  }, 90_000);

  it("fails with the fix to make when the deployment is wired wrong (a batch bus that does not exist)", async () => {
    const results = await runSmoke({
      ...target(),
      providers: [],
      eventbridge: { endpoint: cloud().urls.eventbridge, bus: "no-such-bus" },
    });
    const batch = results.find((r) => r.check.startsWith("batch"))!;
    expect(batch.ok).toBe(false);
    expect(batch.fix).toMatch(/npm run deploy/);
  }, 60_000);

  it("as a command, prints one line per check and exits 2 naming what it lacks", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "infra/smoke/run.ts"], {
      env: { PATH: process.env.PATH ?? "" },
    });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    const code = await new Promise((r) => child.on("close", r));
    expect(code).toBe(2);
    expect(err).toMatch(/missing SMOKE_STREAM_URL, SMOKE_SPEECH_URL/);
  });
});
