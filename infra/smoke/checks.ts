/**
 * The smoke test of a deployment: what the local end-to-end tests prove for the local stack, driven against the
 * deployed functions. Each check returns one line: what it did, whether it worked, and what to fix when it did not.
 * The same checks run against the local stack in the test suite (test/e2e/smoke.test.ts), so they are known to work.
 */
import { randomUUID } from "node:crypto";
import * as EventBridge from "@alicloud/eventbridge";
import OSS from "ali-oss";
import WebSocket from "ws";
import { mp3Frames } from "../../lib/audio/mp3.js";
import type { ProviderName } from "../../lib/provider-registry.js";
import { startSynthesis } from "../../lib/providers/nls/messages.js";
import { eventBridgeClient } from "../deploy/batch-route.js";

export interface SmokeTarget {
  /** The stream function's URL (its HTTP trigger or custom domain). */
  readonly streamUrl: string;
  /** The speech function's URL. */
  readonly speechUrl: string;
  readonly apiKey: string;
  /** Job providers to try, one small job each. */
  readonly providers: readonly ProviderName[];
  readonly oss: {
    readonly bucket: string;
    readonly region: string;
    readonly endpoint?: string;
    readonly accessKeyId: string;
    readonly accessKeySecret: string;
    readonly securityToken?: string;
    readonly pathStyle?: boolean;
  };
  readonly inputPrefix: string;
  readonly outputPrefix: string;
  readonly eventbridge: { readonly endpoint: string; readonly bus: string };
  /** How long a job, an upload or a batch may take before its check fails. */
  readonly timeoutMs: number;
  /** Where the batch's completion webhook goes (a receiver you can see); without it the webhook is not checked. */
  readonly webhookUrl?: string;
  /** A job done sooner than this came by callback; later, it was found by polling (reconcile runs every 5 minutes). */
  readonly callbackWithinMs?: number;
}

export interface SmokeResult {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
  /** What to fix, when it failed (or worked in a way that points at a problem). */
  readonly fix?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  everyMs = 1000,
): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined || Date.now() > end) return value;
    await sleep(everyMs);
  }
}

async function check(name: string, run: () => Promise<Omit<SmokeResult, "check">>): Promise<SmokeResult> {
  try {
    return { check: name, ...(await run()) };
  } catch (error) {
    return {
      check: name,
      ok: false,
      detail: (error as Error).message,
      fix: "see the function's logs (logConfig: auto) for this request",
    };
  }
}

export async function runSmoke(t: SmokeTarget): Promise<SmokeResult[]> {
  const auth = { authorization: `Bearer ${t.apiKey}`, "content-type": "application/json" };
  const tag = randomUUID().slice(0, 8);
  const results: SmokeResult[] = [];

  results.push(
    await check("stream: POST /v1/stream", async () => {
      const res = await fetch(`${t.streamUrl}/v1/stream`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ text: `冒烟测试，${tag}。`, format: "mp3" }),
      });
      if (res.status === 401)
        return { ok: false, detail: "401", fix: "the API key is not in the stream function's TTS_API_KEYS" };
      const audio = Buffer.from(await res.arrayBuffer());
      const frames = res.ok ? mp3Frames(audio).length : 0;
      return frames > 0
        ? { ok: true, detail: `${audio.length} bytes, ${frames} MP3 frames` }
        : {
            ok: false,
            detail: `HTTP ${res.status}: ${audio.toString("utf8").slice(0, 200)}`,
            fix: "check NLS_APPKEY and the role's nls:CreateToken permission",
          };
    }),
  );

  results.push(
    await check("stream: NLS-compatible WebSocket /ws/v1", async () => {
      const url = `${t.streamUrl.replace(/^http/, "ws")}/ws/v1?token=${encodeURIComponent(t.apiKey)}`;
      const outcome = await new Promise<{ bytes: number; end: string }>((resolve, reject) => {
        const ws = new WebSocket(url);
        let bytes = 0;
        const timer = setTimeout(() => {
          ws.terminate();
          reject(new Error("no answer within 30 s"));
        }, 30_000);
        ws.on("open", () =>
          ws.send(
            JSON.stringify(
              startSynthesis("any", { voice: "xiaoyun", format: "pcm", sample_rate: 16000, text: `冒烟测试。${tag}` }),
            ),
          ),
        );
        ws.on("message", (data: Buffer, binary) => {
          if (binary) {
            bytes += data.length;
            return;
          }
          const name = JSON.parse(data.toString()).header?.name as string;
          if (name === "SynthesisCompleted" || name === "TaskFailed") {
            clearTimeout(timer);
            ws.close();
            resolve({ bytes, end: name === "TaskFailed" ? data.toString().slice(0, 200) : name });
          }
        });
        ws.on("error", (e) => {
          clearTimeout(timer);
          reject(e);
        });
      });
      return outcome.end === "SynthesisCompleted" && outcome.bytes > 0
        ? { ok: true, detail: `${outcome.bytes} bytes of PCM` }
        : {
            ok: false,
            detail: outcome.end,
            fix: "the stream function's custom runtime must keep WebSocket upgrades (HTTP trigger, methods GET)",
          };
    }),
  );

  for (const provider of t.providers) {
    results.push(
      await check(`job: ${provider}`, async () => {
        const started = Date.now();
        const res = await fetch(`${t.speechUrl}/v1/jobs`, {
          method: "POST",
          headers: auth,
          body: JSON.stringify({
            text: `冒烟测试的长文本任务。${tag}`,
            provider,
            ...(provider === "minimax" ? { voice: "male-qn-qingse" } : { voice: "siqi" }),
          }),
        });
        const body = (await res.json()) as { id?: string; error?: { message?: string } };
        if (res.status !== 202 || !body.id)
          return {
            ok: false,
            detail: `HTTP ${res.status}: ${body.error?.message ?? ""}`,
            fix:
              provider === "minimax"
                ? "set DASHSCOPE_API_KEY for the job functions"
                : "check the speech function's configuration",
          };
        const job = await until(t.timeoutMs, async () => {
          const j = (await (await fetch(`${t.speechUrl}/v1/jobs/${body.id}`, { headers: auth })).json()) as {
            state: string;
            failure?: { reason: string };
          };
          return j.state === "done" || j.state === "failed" ? j : undefined;
        });
        const took = Date.now() - started;
        if (!job)
          return {
            ok: false,
            detail: `not finished within ${t.timeoutMs / 1000} s`,
            fix: "check the callback function's URL (CALLBACK_BASE_URL) and reconcile's timer",
          };
        if (job.state === "failed") return { ok: false, detail: `failed: ${job.failure?.reason ?? ""}` };
        const byCallback = took <= (t.callbackWithinMs ?? 60_000);
        return {
          ok: true,
          detail: `done in ${(took / 1000).toFixed(1)} s${byCallback ? "" : " (late: found by polling)"}`,
          ...(byCallback
            ? {}
            : {
                fix: "the provider's callback did not arrive: check CALLBACK_BASE_URL is the callback function's public https URL",
              }),
        };
      }),
    );
  }

  results.push(
    await check("upload: a .txt under the input prefix", async () => {
      const oss = new OSS({
        bucket: t.oss.bucket,
        region: `oss-${t.oss.region}`,
        accessKeyId: t.oss.accessKeyId,
        accessKeySecret: t.oss.accessKeySecret,
        stsToken: t.oss.securityToken,
        // Buckets made since 2025-09-01 (and accounts since 2025-03-01) take V4 signatures only.
        authorizationV4: true,
        ...(t.oss.endpoint ? { endpoint: t.oss.endpoint } : {}),
        ...(t.oss.pathStyle ? { sldEnable: true, secure: false } : { secure: true }),
      } as OSS.Options);
      const key = `${t.inputPrefix}smoke/${tag}.txt`;
      await oss.put(key, Buffer.from(`上传的冒烟测试。${tag}`));
      const out = `${t.outputPrefix}smoke/${tag}.mp3`;
      const found = await until(t.timeoutMs, async () => {
        try {
          return (await oss.head(out)).res.status === 200 ? true : undefined;
        } catch {
          return undefined;
        }
      });
      return found
        ? { ok: true, detail: `${out} written` }
        : {
            ok: false,
            detail: `${out} did not appear within ${t.timeoutMs / 1000} s`,
            fix: "check submit's OSS triggers (prefix = OSS_INPUT_PREFIX) and the role's OSS permissions",
          };
    }),
  );

  results.push(
    await check("batch: two items through the EventBridge bus", async () => {
      const client = eventBridgeClient({
        endpoint: t.eventbridge.endpoint,
        accessKeyId: t.oss.accessKeyId,
        accessKeySecret: t.oss.accessKeySecret,
        securityToken: t.oss.securityToken,
      });
      const batchId = `smoke-${tag}`;
      const data = {
        batchId,
        items: [
          { id: "a", text: `第一条。${tag}` },
          { id: "b", text: `第二条。${tag}` },
        ],
        outputPrefix: `${t.outputPrefix}smoke-batch/${tag}/`,
        ...(t.webhookUrl ? { notify: { url: t.webhookUrl } } : {}),
      };
      const put = await client.putEvents([
        new EventBridge.CloudEvent({
          id: batchId,
          source: "tts.batch",
          type: "tts:Batch:Submitted",
          specversion: "1.0",
          datacontenttype: "application/json",
          data: Buffer.from(JSON.stringify(data)),
          extensions: { aliyuneventbusname: t.eventbridge.bus },
        }),
      ]);
      if ((put.failedEntryCount ?? 0) > 0)
        return {
          ok: false,
          detail: put.entryList?.[0]?.errorMessage ?? "refused",
          fix: "run `npm run deploy` (it creates the bus) or set EVENTBRIDGE_BUS",
        };
      const view = await until(t.timeoutMs, async () => {
        const res = await fetch(`${t.speechUrl}/v1/batches/${batchId}`, { headers: auth });
        if (res.status !== 200) return undefined;
        const v = (await res.json()) as {
          state: string;
          counts: Record<string, number>;
          notify?: { at?: string; status?: number; error?: string };
        };
        // Finished, and (when a webhook was asked for) its delivery recorded.
        return v.state === "running" || (t.webhookUrl && !v.notify?.at) ? undefined : v;
      });
      if (!view)
        return {
          ok: false,
          detail: `not finished within ${t.timeoutMs / 1000} s`,
          fix: "check the rule's target (submit) and EventBridge's role to invoke FC",
        };
      if (view.state !== "done") return { ok: false, detail: `${view.state}: ${JSON.stringify(view.counts)}` };
      if (!t.webhookUrl)
        return {
          ok: true,
          detail: `done: ${JSON.stringify(view.counts)}; webhook not checked (set SMOKE_WEBHOOK_URL to a receiver you can watch)`,
        };
      const hook = view.notify!;
      return hook.status !== undefined && hook.status >= 200 && hook.status < 300
        ? { ok: true, detail: `done: ${JSON.stringify(view.counts)}; webhook answered ${hook.status}` }
        : {
            ok: false,
            detail: `done, but the webhook failed: ${hook.error ?? `HTTP ${hook.status}`}`,
            fix: "the webhook must be an http(s) URL on a public address that answers 2xx",
          };
    }),
  );
  return results;
}

/** One line per check. */
export function formatResults(results: readonly SmokeResult[]): string {
  return results
    .map((r) => `${r.ok ? "ok  " : "FAIL"} ${r.check}: ${r.detail}${r.fix ? `\n     → ${r.fix}` : ""}`)
    .join("\n");
}
