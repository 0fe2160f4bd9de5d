/**
 * One CosyVoice task whose text comes a piece at a time (seed 001's duplex streaming): run-task when the connection
 * is open, then, once task-started has come, each piece as a continue-task in the order said, `flush` as DashScope's
 * `{"flush": true}` (speak what is buffered, sentence end or not), and finish-task at the end. Audio arrives in binary
 * frames as it is made; each sentence's words (`word_timestamp_enabled`) at its sentence-end, with the characters
 * billed so far.
 */
import { randomUUID } from "node:crypto";
import type WebSocket from "ws";
import { UpstreamError } from "../../errors.js";
import type * as z from "../../zod.js";
import type { WarmSockets } from "../warm-sockets.js";
import { OPEN } from "../ws-loader.js";
import { WsSession } from "../ws-session.js";
import type { CosyVoiceOptions } from "./cosyvoice.js";
import { COSYVOICE_SEND_INTERVAL_LIMIT_MS } from "./limits.js";
import {
  COSYVOICE_RETRYABLE,
  type CosyVoiceParameters,
  type CosyVoiceServerEvent,
  clientCommand,
  runTask,
  ServerEventSchema,
  type WordSchema,
} from "./messages.js";

export type CosyVoiceDuplexEvent =
  | { readonly type: "audio"; readonly data: Buffer }
  /** A sentence has been spoken: its words (empty without word timestamps), and the characters billed so far. */
  | {
      readonly type: "sentence-end";
      readonly words: ReadonlyArray<z.infer<typeof WordSchema>>;
      readonly billed?: number;
    };

export class CosyVoiceDuplexTask extends WsSession<CosyVoiceDuplexEvent, CosyVoiceServerEvent> {
  readonly #taskId = randomUUID();
  /** Commands said before task-started, sent when it comes (the seed: nothing before task-started). */
  #waiting: string[] | undefined = [];
  #finished = false;
  #onStarted: (() => void) | undefined;
  readonly #started = new Promise<void>((resolve) => {
    this.#onStarted = resolve;
  });
  /** Sends a flush when the task has been quiet for `keepAliveMs`: DashScope closes one quiet for 23 s. */
  #keepAlive: NodeJS.Timeout | undefined;

  constructor(
    opts: CosyVoiceOptions,
    readonly model: string,
    readonly parameters: CosyVoiceParameters,
    signal?: AbortSignal,
    socket?: WebSocket,
    private readonly pool?: WarmSockets,
    private readonly keepAliveMs = COSYVOICE_SEND_INTERVAL_LIMIT_MS - 5_000,
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
      // A live task waits on its writer: DashScope's own limit for a silent task applies, not a synthesis's.
      idleTimeoutMs: opts.idleTimeoutMs ?? 60_000,
      highWaterMark: opts.highWaterMark,
      signal,
      refusal: (status) => (status === 401 ? "InvalidApiKey" : `HTTP${status}`),
      completion: "task-finished",
      ...(socket ? { socket } : {}),
    });
  }

  /** Resolves once DashScope has started the task; rejects with its refusal or the connection's failure before that. */
  started(): Promise<void> {
    return Promise.race([
      this.#started,
      this.queue.failure.then((error) => {
        throw error;
      }),
    ]);
  }

  get sampleRate(): number {
    return this.parameters.sample_rate;
  }

  get voice(): string {
    return this.parameters.voice;
  }

  /** Speaks `text` after what was said before (one continue-task; at most 20,000 characters). */
  say(text: string): void {
    this.#command(clientCommand("continue-task", this.#taskId, { input: { text } }));
  }

  /** Speaks what DashScope holds now, sentence end or not. */
  flush(): void {
    this.#command(clientCommand("continue-task", this.#taskId, { input: { flush: true } }));
  }

  /** Nothing more will be said: the task ends once all of it is spoken. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#command(clientCommand("finish-task", this.#taskId, { input: {} }));
  }

  #command(command: ReturnType<typeof clientCommand>): void {
    const text = JSON.stringify(command);
    if (this.#waiting) this.#waiting.push(text);
    else if (this.ws.readyState === OPEN) {
      this.ws.send(text);
      this.#armKeepAlive();
    }
  }

  /** A writer may pause for longer than DashScope waits (a model calling a tool): a flush says the task is alive. */
  #armKeepAlive(): void {
    clearTimeout(this.#keepAlive);
    if (this.#finished) return;
    this.#keepAlive = setTimeout(() => this.flush(), this.keepAliveMs);
    this.#keepAlive.unref();
  }

  override close(): void {
    clearTimeout(this.#keepAlive);
    super.close();
  }

  protected onOpen(): void {
    this.ws.send(JSON.stringify(runTask(this.#taskId, this.model, this.parameters)));
  }

  protected onEvent(event: CosyVoiceServerEvent): void {
    const { header: h, payload } = event;
    if (h.event === "task-started") {
      const waiting = this.#waiting ?? [];
      this.#waiting = undefined;
      this.#onStarted?.();
      for (const text of waiting) if (this.ws.readyState === OPEN) this.ws.send(text);
      this.#armKeepAlive();
    } else if (h.event === "task-failed") {
      this.queue.fail(
        new UpstreamError({
          provider: "cosyvoice",
          code: h.error_code ?? "TaskFailed",
          upstreamMessage: h.error_message ?? "",
          retryable: COSYVOICE_RETRYABLE.test(h.error_code ?? ""),
          taskId: this.#taskId,
        }),
      );
      this.close();
    } else if (h.event === "task-finished") {
      clearTimeout(this.#keepAlive);
      this.queue.end();
      const open = this.pool ? this.release() : undefined;
      if (open) this.pool!.put(open);
      else this.close();
    } else if (payload.output?.type === "sentence-end") {
      this.queue.push({
        type: "sentence-end",
        words: payload.output.sentence?.words ?? [],
        ...(payload.usage ? { billed: payload.usage.characters } : {}),
      });
    }
  }
}
