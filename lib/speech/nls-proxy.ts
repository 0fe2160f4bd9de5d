/**
 * The NLS-compatible WebSocket endpoint: a client built on the official NLS SDK connects here with one of our API
 * keys in place of the NLS token. The proxy validates StartSynthesis before it connects upstream, substitutes the
 * real AppKey and token, and relays audio, MetaInfo, SynthesisCompleted and TaskFailed under the client's task id.
 *
 * Every frame is hostile until parsed, and every entry (message, timer) is inside an error boundary: a bad frame gets
 * a TaskFailed, never an exception out of the socket. A client that sends nothing is closed after `idleTimeoutMs`
 * (the NLS gateway's own rule: 40000004 after 10 s without data); one that stops reading audio is closed after
 * `stallTimeoutMs`, so it cannot hold the upstream and its buffers until FC's 300 s limit.
 */
import { randomUUID } from "node:crypto";
import type { WebSocket } from "ws";
import { contentAddress, outputLabel } from "../audio/aigc-label.js";
import { labelFirstChunk } from "../audio/label-container.js";
import type { Lease } from "../budget/account-budget.js";
import { AppError, InputError, UpstreamError } from "../errors.js";
import { guarded } from "../http/boundary.js";
import type { Logger } from "../log.js";
import { StartSynthesisSchema } from "../providers/nls/messages.js";
import type { NlsSynthesizer } from "../providers/nls/synthesizer.js";
import { scrubSecrets } from "../secrets.js";
import { looksLikeSsml } from "../text/index.js";

const id = (): string => randomUUID().replace(/-/g, "");
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function frame(
  taskId: string,
  name: string,
  status: number,
  extra: Record<string, unknown> = {},
  payload?: Record<string, unknown>,
): string {
  return JSON.stringify({
    header: {
      message_id: id(),
      task_id: taskId,
      namespace: name === "TaskFailed" ? "Default" : "SpeechSynthesizer",
      name,
      status,
      ...extra,
    },
    ...(payload ? { payload } : {}),
  });
}

export interface NlsProxyOptions {
  readonly nls: NlsSynthesizer;
  readonly log: Logger;
  /** Whether the connection presented a valid key or token; checked on the first message, as the SDK expects. */
  readonly authorized: boolean;
  readonly idleTimeoutMs?: number;
  readonly stallTimeoutMs?: number;
  /** Who the AI-generated-content label names as the service provider (AIGC_PROVIDER_NAME). */
  readonly aigcProducer?: string;
  /** The task's lease from the account's budget, taken before the upstream task (AppError 429 past it). */
  readonly lease?: () => Promise<Lease>;
}

export function serveNlsProxy(ws: WebSocket, opts: NlsProxyOptions): void {
  const client = new AbortController();
  const stallTimeoutMs = opts.stallTimeoutMs ?? 30_000;
  let started = false;
  const idle = setTimeout(
    guarded(opts.log, "nls proxy idle timer", () => ws.close(1000)),
    opts.idleTimeoutMs ?? 10_000,
  );
  /** Sends and resolves once the frame is handed to the socket: awaiting it paces the relay to a slow client. */
  const send = (data: string | Buffer): Promise<void> =>
    new Promise((resolve) => {
      if (ws.readyState !== ws.OPEN) return resolve();
      const stalled = setTimeout(
        guarded(opts.log, "nls proxy stall timer", () => {
          opts.log.warn("client stopped reading; closing", { stallTimeoutMs });
          ws.terminate();
          resolve();
        }),
        stallTimeoutMs,
      );
      ws.send(data, { binary: typeof data !== "string" }, () => {
        clearTimeout(stalled);
        resolve();
      });
    });
  ws.on("error", (error) => opts.log.debug("client socket error", { error }));
  ws.on("close", () => {
    clearTimeout(idle);
    client.abort(new Error("client disconnected"));
  });
  ws.on(
    "message",
    guarded(
      opts.log,
      "nls proxy message",
      (data: Buffer, isBinary: boolean) => {
        clearTimeout(idle);
        if (started) return; // one task per connection: later frames (StopSynthesis) are not needed
        started = true;
        return relay(isBinary ? undefined : data.toString("utf8"), opts, send, client.signal).finally(() => {
          if (ws.readyState === ws.OPEN) ws.close(1000);
        });
      },
      () => {
        void send(frame("", "TaskFailed", 50000000, { status_text: "GRPC_ERROR:internal error" })).finally(() =>
          ws.close(1011),
        );
      },
    ),
  );
}

async function relay(
  text: string | undefined,
  opts: NlsProxyOptions,
  send: (data: string | Buffer) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  let taskId = "";
  const fail = (status: number, statusText: string): Promise<void> =>
    send(frame(taskId, "TaskFailed", status, { status_text: statusText }));
  let message: unknown;
  try {
    message = JSON.parse(text ?? "");
  } catch {
    return fail(40000002, "Gateway:MESSAGE_INVALID:the first message must be a StartSynthesis JSON text frame");
  }
  const header = isRecord(message) && isRecord(message.header) ? message.header : undefined;
  // The client's own task id, echoed only when it is the 32-hex id the protocol defines (never arbitrary text).
  taskId = typeof header?.task_id === "string" && /^[0-9a-fA-F-]{1,64}$/.test(header.task_id) ? header.task_id : "";
  if (!opts.authorized)
    return fail(
      40000001,
      "Gateway:ACCESS_DENIED:missing or invalid API key or token (send it as X-NLS-Token or ?token=)",
    );
  if (!isRecord(message) || !header)
    return fail(40000002, "Gateway:MESSAGE_INVALID:the message must be a JSON object with a header");
  const parsed = StartSynthesisSchema.safeParse({ ...message, header: { ...header, appkey: "proxy" } });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return fail(40000003, `PARAMETER_INVALID:${issue.path.join(".")}: ${issue.message}`);
  }
  const p = parsed.data.payload;
  const input = {
    ...(looksLikeSsml(p.text) ? { ssml: p.text } : { text: p.text }),
    voice: p.voice,
    format: p.format,
    sampleRate: p.sample_rate,
    volume: p.volume,
    speechRate: p.speech_rate,
    pitchRate: p.pitch_rate,
    enableSubtitle: p.enable_subtitle,
  };
  const log = opts.log.child({ taskId });
  let lease: Lease | undefined;
  try {
    // The audio carries its AI-generated-content label as every output does: in the first binary frame.
    const label = outputLabel({
      producer: opts.aigcProducer,
      contentId: contentAddress(JSON.stringify(input)),
      synthesis: { provider: "nls", voice: p.voice },
    });
    let first = true;
    lease = await opts.lease?.();
    for await (const event of opts.nls.synthesize(input, { signal })) {
      if (signal.aborted) return;
      if (event.type === "audio") {
        await send(first ? labelFirstChunk(p.format, event.data, label) : event.data);
        first = false;
      } else
        await send(
          frame(
            taskId,
            "MetaInfo",
            20000000,
            { status_message: "GATEWAY|SUCCESS|Success." },
            { subtitles: event.subtitles },
          ),
        );
    }
    await send(frame(taskId, "SynthesisCompleted", 20000000, { status_message: "GATEWAY|SUCCESS|Success." }));
  } catch (error) {
    if (signal.aborted) return;
    if (error instanceof InputError) return await fail(40000003, `PARAMETER_INVALID:${error.message}`);
    // Past the account's budget: the gateway's own words for too many requests, with when to try again.
    if (error instanceof AppError && error.code === "ProviderBudgetSpent")
      return await fail(40000005, `Gateway:TOO_MANY_REQUESTS:${error.message}`);
    if (error instanceof UpstreamError)
      return await fail(
        /^\d+$/.test(error.providerCode) ? Number(error.providerCode) : 50000000,
        scrubSecrets(error.upstreamMessage),
      );
    log.error("nls proxy failed", { error });
    return await fail(
      50000000,
      error instanceof AppError && error.expose ? error.message : "GRPC_ERROR:upstream failed",
    );
  } finally {
    await lease?.give().catch(() => undefined);
  }
}
