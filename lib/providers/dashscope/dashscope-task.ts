/**
 * What every CosyVoice task over DashScope's WebSocket shares, whether its text is known up front (`CosyVoiceSession`)
 * or comes a piece at a time (`CosyVoiceDuplexTask`): the connection (the API key, the workspace, the 401 that means
 * a bad key), its task id, a task-failed turned into an UpstreamError classified by DashScope's code, and, at
 * task-finished, the connection handed to the pool for the next task (DashScope's SDKs reuse it the same way).
 */
import { randomUUID } from "node:crypto";
import type WebSocket from "ws";
import { UpstreamError } from "../../errors.js";
import type { WarmSockets } from "../warm-sockets.js";
import { WsSession } from "../ws-session.js";
import type { CosyVoiceOptions } from "./cosyvoice.js";
import { COSYVOICE_RETRYABLE, type CosyVoiceServerEvent, ServerEventSchema } from "./messages.js";

export abstract class DashScopeTask<T extends { readonly type: string }> extends WsSession<T, CosyVoiceServerEvent> {
  protected readonly taskId = randomUUID();

  constructor(
    opts: CosyVoiceOptions,
    task: {
      /** No frame from DashScope for this long fails the task. */
      readonly idleTimeoutMs: number;
      readonly signal?: AbortSignal;
      /** A connection kept open by a finished task, used instead of connecting. */
      readonly socket?: WebSocket;
      /** Where the connection goes when the task finishes. */
      readonly pool?: WarmSockets;
    },
  ) {
    super({
      provider: "cosyvoice",
      peer: "DashScope",
      events: ServerEventSchema,
      url: opts.url,
      headers: {
        authorization: `bearer ${opts.apiKey}`,
        ...(opts.workspace ? { "X-DashScope-WorkSpace": opts.workspace } : {}),
      },
      connectTimeoutMs: opts.connectTimeoutMs,
      idleTimeoutMs: task.idleTimeoutMs,
      highWaterMark: opts.highWaterMark,
      signal: task.signal,
      refusal: (status) => (status === 401 ? "InvalidApiKey" : `HTTP${status}`),
      completion: "task-finished",
      ...(task.socket ? { socket: task.socket } : {}),
    });
    this.#pool = task.pool;
  }

  readonly #pool: WarmSockets | undefined;

  /** task-failed: the task's error (retryable for DashScope's transient codes), and the connection closed. */
  protected failed(header: CosyVoiceServerEvent["header"]): void {
    this.queue.fail(
      new UpstreamError({
        provider: "cosyvoice",
        code: header.error_code ?? "TaskFailed",
        upstreamMessage: header.error_message ?? "",
        retryable: COSYVOICE_RETRYABLE.test(header.error_code ?? ""),
        taskId: this.taskId,
      }),
    );
    this.close();
  }

  /** task-finished: the events end, and the connection may serve the next task. */
  protected finished(): void {
    this.queue.end();
    const open = this.#pool ? this.release() : undefined;
    if (open) this.#pool!.put(open);
    else this.close();
  }
}
