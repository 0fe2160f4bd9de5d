/**
 * `npm run bench:live`: how soon a live stream speaks. For each provider, at 0 and 30 ms modelled round trip to the
 * provider, the time from the fragment that makes the first unit speakable (the character after the first sentence's
 * end) to the first audio through `/v1/live`, against the provider's own first-packet time: a direct client on a
 * connection already open (and, for CosyVoice, a task already started) sending the same sentence. Interleaved one by
 * one, p50 and p95. The target: live ≤ provider + 50 ms. The emulators (tone engine) and the stream function
 * each run in a process of their own.
 */
import WebSocket from "ws";
import { createClients } from "../lib/clients.js";
import { nlsEndpoints, parseConfig } from "../lib/config.js";
import { clientCommand, runTask } from "../lib/providers/dashscope/messages.js";
import { startSynthesis } from "../lib/providers/nls/messages.js";
import type { Row } from "./nls-short.js";
import { quantile, startStack } from "./stream.js";

/** The first sentence of each stream (numbered, so none is a cache's), and what the model writes next. */
const SENTENCES = [
  (n: number) => ({ text: `第${n}次：今天的天气很好，我们去公园走走吧。`, next: "接下来" }),
  (n: number) => ({ text: `Live speech number ${n} starts as soon as a sentence ends.`, next: " Then" }),
];
const sentence = (n: number) => SENTENCES[n % 2]!(n);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens a socket and resolves once it is open. */
function opened(url: string, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

/** The first binary frame's arrival after `send()`, in ms. */
function firstAudio(ws: WebSocket, send: () => void): Promise<number> {
  return new Promise((resolve, reject) => {
    let t0 = 0;
    ws.on("message", (_data, binary) => {
      if (binary && t0 > 0) {
        resolve(performance.now() - t0);
        t0 = -1;
      }
    });
    ws.once("error", reject);
    t0 = performance.now();
    send();
  });
}

export async function benchLive(requests = 30): Promise<Row[]> {
  const rows: Row[] = [];
  for (const rtt of [0, 30]) {
    const { url, env, stop } = await startStack(rtt, false, rtt === 30 ? 2 : 0);
    try {
      const config = parseConfig(env);
      const token = await createClients(config).tokens.token();
      const gateway = nlsEndpoints(config).gateway;
      const wsUrl = url.replace(/^http/, "ws");
      let n = 0;
      /**
       * The first unit through /v1/live: the sentence written as a model writes (1–5 characters every 20–50 ms, the
       * same for every run), then the fragment after its end, which makes it speakable; timed from that fragment.
       */
      const live = async (provider: "nls" | "cosyvoice"): Promise<number> => {
        const ws = await opened(`${wsUrl}/v1/live`, { authorization: "Bearer bench-key" });
        const started = new Promise<void>((resolve) =>
          ws.on("message", (d, binary) => {
            if (!binary && JSON.parse(d.toString()).type === "started") resolve();
          }),
        );
        ws.send(JSON.stringify({ type: "start", provider, format: "pcm" }));
        await started;
        const { text, next } = sentence(n++);
        const chars = Array.from(text);
        for (let i = 0, k = 0; i < chars.length; k++) {
          const size = 1 + (k % 5);
          ws.send(JSON.stringify({ type: "text", text: chars.slice(i, i + size).join("") }));
          i += size;
          await sleep(20 + ((k * 7) % 31));
        }
        const ms = await firstAudio(ws, () => ws.send(JSON.stringify({ type: "text", text: next })));
        ws.send(JSON.stringify({ type: "interrupt" }));
        await new Promise((r) => ws.once("close", r));
        return ms;
      };
      /** NLS itself: StartSynthesis on a connection already open, to the first audio. */
      const nlsDirect = async (): Promise<number> => {
        const ws = await opened(gateway, { "X-NLS-Token": token });
        const frame = startSynthesis(config.NLS_APPKEY, {
          voice: "siqi",
          format: "pcm",
          sample_rate: 16000,
          text: sentence(n++).text,
        });
        const ms = await firstAudio(ws, () => ws.send(JSON.stringify(frame)));
        ws.terminate();
        return ms;
      };
      /** CosyVoice itself: a task already started, the sentence's continue-task to the first audio. */
      const cosyDirect = async (): Promise<number> => {
        const ws = await opened(config.DASHSCOPE_WS_URL, { authorization: `bearer ${config.DASHSCOPE_API_KEY}` });
        const taskId = `bench-${n}`;
        await new Promise<void>((resolve) => {
          ws.on("message", (d, binary) => {
            if (!binary && JSON.parse(d.toString()).header?.event === "task-started") resolve();
          });
          ws.send(
            JSON.stringify(
              runTask(taskId, "cosyvoice-v3-flash", { voice: "longanyang", format: "pcm", sample_rate: 22050 }),
            ),
          );
        });
        const { text } = sentence(n++);
        const ms = await firstAudio(ws, () =>
          ws.send(JSON.stringify(clientCommand("continue-task", taskId, { input: { text } }))),
        );
        ws.terminate();
        return ms;
      };
      for (const provider of ["nls", "cosyvoice"] as const) {
        const direct = provider === "nls" ? nlsDirect : cosyDirect;
        for (let i = 0; i < 3; i++) await Promise.all([live(provider), direct()]); // warm-up
        const l: number[] = [];
        const d: number[] = [];
        for (let i = 0; i < requests; i++) {
          await sleep(20 + rtt * 3);
          d.push(await direct());
          await sleep(20 + rtt * 3);
          l.push(await live(provider));
        }
        for (const q of [0.5, 0.95]) {
          const lv = quantile(l, q);
          const dv = quantile(d, q);
          rows.push({
            name: `live first audio p${q * 100} after the first speakable unit, ${provider}, ${rtt} ms RTT`,
            value: `${lv.toFixed(1)} ms live`,
            reference: `${dv.toFixed(1)} ms provider first packet, direct on an open connection; +${(lv - dv).toFixed(1)} ms (target ≤ 50) (bounded by: emulator + modelled RTT, 2 processes on 2 cores)`,
            ratio: (lv / dv).toFixed(2),
          });
        }
      }
    } finally {
      stop();
    }
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import("./table.js");
  printTable(await benchLive());
}
