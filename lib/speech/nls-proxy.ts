/**
 * The NLS-compatible WebSocket endpoint: a client built on the official NLS SDK connects here with one of our API
 * keys in place of the NLS token. The proxy validates StartSynthesis before it connects upstream, substitutes the
 * real AppKey and token, and relays audio, MetaInfo, SynthesisCompleted and TaskFailed under the client's task id.
 */
import { randomUUID } from "node:crypto";
import type { WebSocket } from "ws";
import { AppError, InputError, ProviderError } from "../errors.js";
import type { Logger } from "../log.js";
import { StartSynthesisSchema } from "../providers/nls/messages.js";
import type { NlsSynthesizer } from "../providers/nls/synthesizer.js";
import { looksLikeSsml } from "../text/index.js";

const id = (): string => randomUUID().replace(/-/g, "");

function frame(taskId: string, name: string, status: number, extra: Record<string, unknown> = {}, payload?: Record<string, unknown>): string {
  return JSON.stringify({ header: { message_id: id(), task_id: taskId, namespace: name === "TaskFailed" ? "Default" : "SpeechSynthesizer", name, status, ...extra }, ...(payload ? { payload } : {}) });
}

/** Sends and resolves once the frame is handed to the socket: awaiting it paces the relay to a slow client. */
function send(ws: WebSocket, data: string | Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState !== ws.OPEN) return resolve();
    ws.send(data, { binary: typeof data !== "string" }, () => resolve());
  });
}

export interface NlsProxyOptions {
  readonly nls: NlsSynthesizer;
  readonly log: Logger;
  /** Whether the connection presented a valid key or token; checked on the first message, as the SDK expects. */
  readonly authorized: boolean;
  readonly idleTimeoutMs?: number;
}

export function serveNlsProxy(ws: WebSocket, opts: NlsProxyOptions): void {
  const client = new AbortController();
  let busy = false;
  const idle = setTimeout(() => ws.close(1000), opts.idleTimeoutMs ?? 10_000);
  ws.on("close", () => {
    clearTimeout(idle);
    client.abort(new Error("client disconnected"));
  });
  ws.on("message", (data, isBinary) => {
    clearTimeout(idle);
    if (busy) return;
    busy = true;
    void relay(ws, isBinary ? undefined : data.toString(), opts, client.signal).finally(() => {
      busy = false;
      if (ws.readyState === ws.OPEN) ws.close(1000);
    });
  });
}

async function relay(ws: WebSocket, text: string | undefined, opts: NlsProxyOptions, signal: AbortSignal): Promise<void> {
  let taskId = "";
  const fail = (status: number, statusText: string): Promise<void> => send(ws, frame(taskId, "TaskFailed", status, { status_text: statusText }));
  let message: unknown;
  try {
    message = JSON.parse(text ?? "");
  } catch {
    return fail(40000002, "Gateway:MESSAGE_INVALID:the first message must be a StartSynthesis JSON text frame");
  }
  taskId = String((message as { header?: { task_id?: unknown } })?.header?.task_id ?? "");
  if (!opts.authorized) return fail(40000001, "Gateway:ACCESS_DENIED:missing or invalid API key or token (send it as X-NLS-Token or ?token=)");
  const parsed = StartSynthesisSchema.safeParse({ ...(message as object), header: { ...((message as { header?: object }).header ?? {}), appkey: "proxy" } });
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
  try {
    for await (const event of opts.nls.synthesize(input, { signal })) {
      if (event.type === "audio") await send(ws, event.data);
      else await send(ws, frame(taskId, "MetaInfo", 20000000, { status_message: "GATEWAY|SUCCESS|Success." }, { subtitles: event.subtitles }));
    }
    await send(ws, frame(taskId, "SynthesisCompleted", 20000000, { status_message: "GATEWAY|SUCCESS|Success." }));
  } catch (error) {
    if (signal.aborted) return;
    if (error instanceof InputError) return fail(40000003, `PARAMETER_INVALID:${error.message}`);
    if (error instanceof ProviderError) return fail(/^\d+$/.test(error.providerCode) ? Number(error.providerCode) : 50000000, error.upstreamMessage);
    log.error("nls proxy failed", { error });
    return fail(50000000, error instanceof AppError && error.expose ? error.message : "GRPC_ERROR:upstream failed");
  }
}
