/**
 * One CosyVoice task whose text comes a piece at a time (seed 001's duplex streaming): run-task when the connection
 * is open, then, once task-started has come, each piece as a continue-task in the order said, `flush` as DashScope's
 * `{"flush": true}` (speak what is buffered, sentence end or not), and finish-task at the end. Audio arrives in binary
 * frames as it is made; each sentence's words (`word_timestamp_enabled`) at its sentence-end.
 */
import type WebSocket from "ws";
import type * as z from "../../zod.js";
import type { WarmSockets } from "../warm-sockets.js";
import { OPEN } from "../ws-loader.js";
import type { CosyVoiceOptions } from "./cosyvoice.js";
import { DashScopeTask } from "./dashscope-task.js";
import { COSYVOICE_SEND_INTERVAL_LIMIT_MS } from "./limits.js";
import {
  type CosyVoiceParameters,
  type CosyVoiceServerEvent,
  clientCommand,
  runTask,
  type WordSchema,
} from "./messages.js";

export type CosyVoiceDuplexEvent =
  | { readonly type: "audio"; readonly data: Buffer }
  /** A sentence has been spoken: its words (empty without word timestamps). */
  | { readonly type: "sentence-end"; readonly words: ReadonlyArray<z.infer<typeof WordSchema>> };

export class CosyVoiceDuplexTask extends DashScopeTask<CosyVoiceDuplexEvent> {
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
    pool?: WarmSockets,
    private readonly keepAliveMs = COSYVOICE_SEND_INTERVAL_LIMIT_MS - 5_000,
  ) {
    // A live task waits on its writer: DashScope's own limit for a silent task applies, not a synthesis's.
    super(opts, { idleTimeoutMs: opts.idleTimeoutMs ?? 60_000, signal, socket, pool });
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
    this.#command(clientCommand("continue-task", this.taskId, { input: { text } }));
  }

  /** Speaks what DashScope holds now, sentence end or not. */
  flush(): void {
    this.#command(clientCommand("continue-task", this.taskId, { input: { flush: true } }));
  }

  /** Nothing more will be said: the task ends once all of it is spoken. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#command(clientCommand("finish-task", this.taskId, { input: {} }));
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
    this.ws.send(JSON.stringify(runTask(this.taskId, this.model, this.parameters)));
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
      this.failed(h);
    } else if (h.event === "task-finished") {
      clearTimeout(this.#keepAlive);
      this.finished();
    } else if (payload.output?.type === "sentence-end") {
      this.queue.push({ type: "sentence-end", words: payload.output.sentence?.words ?? [] });
    }
  }
}
