/**
 * CosyVoice over the DashScope WebSocket API (seed 001, facts §8): run-task, wait for task-started, continue-task with
 * the text (one message with SSML, at most 20,000 characters each otherwise), finish-task; audio arrives as one binary
 * frame after each sentence-synthesis event, the task ends with task-finished or task-failed.
 */
import type WebSocket from "ws";
import { InputError } from "../../errors.js";
import { type RetryOptions, withRetry } from "../../retry.js";
import {
  assertSpeakableCharacters,
  assertValidSsml,
  chunkText,
  cosyVoiceWeight,
  countCosyVoiceChars,
  spokenText,
} from "../../text/index.js";
import { parseInput, textXorSsml } from "../../validation.js";
import { checkCosyVoice, checkCosyVoiceInstruction, cosyVoiceModelFor } from "../../voices/cosyvoice.js";
import * as z from "../../zod.js";
import { WarmSockets } from "../warm-sockets.js";
import { loadWebSocket, OPEN } from "../ws-loader.js";
import { runSession } from "../ws-session.js";
import { CosyVoiceDuplexTask } from "./cosyvoice-duplex.js";
import { DashScopeTask } from "./dashscope-task.js";
import { COSYVOICE_MESSAGE_LIMIT, COSYVOICE_TASK_LIMIT } from "./limits.js";
import {
  type CosyVoiceParameters,
  CosyVoiceParametersSchema,
  type CosyVoiceServerEvent,
  clientCommand,
  runTask,
  type WordSchema,
} from "./messages.js";

export { COSYVOICE_MESSAGE_LIMIT, COSYVOICE_TASK_LIMIT } from "./limits.js";

const wire = CosyVoiceParametersSchema.shape;

/** @example { text: "床前明月光", model: "cosyvoice-v3-flash", voice: "longanyang", format: "mp3", sampleRate: 22050 } */
export const CosyVoiceInputSchema = z
  .object({
    text: z.optional(z.string()),
    ssml: z.optional(z.string()),
    /** Left out: the voice's own model (cosyVoiceModelFor). */
    model: z.optional(z.string()),
    voice: z._default(z.string(), "longanyang"),
    format: wire.format,
    sampleRate: wire.sample_rate,
    volume: wire.volume,
    rate: wire.rate,
    pitch: wire.pitch,
    wordTimestamps: z._default(z.boolean(), false),
    seed: wire.seed,
    languageHints: wire.language_hints,
    instruction: wire.instruction,
  })
  .check(textXorSsml());
export type CosyVoiceInput = z.input<typeof CosyVoiceInputSchema>;

export type CosyVoiceEvent =
  | { readonly type: "audio"; readonly data: Buffer }
  | { readonly type: "words"; readonly words: ReadonlyArray<z.infer<typeof WordSchema>> };

export interface CosyVoicePlan {
  readonly model: string;
  readonly parameters: CosyVoiceParameters;
  /** The continue-task texts, in order. */
  readonly messages: readonly string[];
  readonly characters: number;
}

/** A duplex task's model and run-task parameters, checked. */
export interface CosyVoiceDuplexPlan {
  readonly model: string;
  readonly parameters: CosyVoiceParameters;
}

export interface CosyVoiceOptions {
  /** wss://dashscope.aliyuncs.com/api-ws/v1/inference (Beijing) or the international / workspace URL. */
  readonly url: string;
  readonly apiKey: string;
  readonly workspace?: string;
  readonly extraVoices?: readonly string[];
  readonly connectTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  readonly highWaterMark?: number;
  readonly retry?: RetryOptions;
}

export class CosyVoiceSynthesizer {
  constructor(private readonly opts: CosyVoiceOptions) {}

  /** Validates and plans the task; throws InputError naming the field and the limit. No I/O. */
  prepare(input: CosyVoiceInput): CosyVoicePlan {
    const req = parseInput(CosyVoiceInputSchema, input);
    const field = req.ssml !== undefined ? "ssml" : "text";
    const ssml = req.ssml !== undefined;
    // CosyVoice reads SSML only with enable_ssml, so plain text is sent as it is; markup characters are harmless.
    const text = req.ssml ?? req.text!;
    assertSpeakableCharacters(text, field);
    if (spokenText(text).trim() === "")
      throw new InputError(field, "must contain text to speak", { code: "EmptyText" });
    const characters = countCosyVoiceChars(text);
    const limit = ssml ? COSYVOICE_MESSAGE_LIMIT : COSYVOICE_TASK_LIMIT;
    if (characters > limit) {
      throw new InputError(
        field,
        `is ${characters} characters as CosyVoice counts them (a Han character counts 2); at most ${limit} ${ssml ? "in one SSML request" : "per task"}`,
        { limit, actual: characters, statusCode: 413, code: "TextTooLong" },
      );
    }
    if (ssml) assertValidSsml(text, { flavor: "cosyvoice", sampleRate: req.sampleRate }, "ssml");
    const { model, parameters } = this.#task(req, ssml);
    const messages = ssml ? [text] : chunkText(text, { max: COSYVOICE_MESSAGE_LIMIT, weight: cosyVoiceWeight });
    return { model, parameters, messages, characters };
  }

  /** The model and run-task parameters of a request (its voice checked against the model). */
  #task(req: z.output<typeof CosyVoiceInputSchema>, ssml: boolean): { model: string; parameters: CosyVoiceParameters } {
    const model = req.model ?? cosyVoiceModelFor(req.voice);
    checkCosyVoice(model, req.voice, this.opts.extraVoices);
    if (req.instruction !== undefined) checkCosyVoiceInstruction(model);
    const parameters = CosyVoiceParametersSchema.parse({
      voice: req.voice,
      format: req.format,
      sample_rate: req.sampleRate,
      volume: req.volume,
      rate: req.rate,
      pitch: req.pitch,
      enable_ssml: ssml,
      word_timestamp_enabled: req.wordTimestamps,
      seed: req.seed,
      language_hints: req.languageHints,
      instruction: req.instruction,
    });
    return { model, parameters };
  }

  /**
   * A task whose text comes later, a piece at a time (seed 001's duplex streaming: continue-task as often as needed,
   * at most 20,000 characters each and 200,000 in all). Validated now (model, voice, parameters); nothing is sent
   * until the caller says something. Not retried: the caller's text is spoken as it comes, once.
   */
  async openDuplex(
    plan: CosyVoiceDuplexPlan,
    options: { signal?: AbortSignal; keepAliveMs?: number } = {},
  ): Promise<CosyVoiceDuplexTask> {
    await loadWebSocket();
    // Started before it is handed over, so a connection that fails or a transient refusal (Throttling) is retried
    // with backoff while nothing has been said; a refusal of the parameters fails at once.
    return withRetry(
      async () => {
        const task = new CosyVoiceDuplexTask(
          this.opts,
          plan.model,
          plan.parameters,
          options.signal,
          await this.#idle.take(),
          this.#idle,
          options.keepAliveMs,
        );
        try {
          await task.started();
          return task;
        } catch (error) {
          task.close();
          throw error;
        }
      },
      { attempts: 3, baseMs: 200, ...this.opts.retry, signal: options.signal },
    );
  }

  /** Validates a duplex task's options (model, voice, parameters); throws InputError naming the field. No I/O. */
  prepareDuplex(input: Omit<CosyVoiceInput, "text" | "ssml">): CosyVoiceDuplexPlan {
    return this.#task(parseInput(CosyVoiceInputSchema, { ...input, text: " " }), false);
  }

  /**
   * Connections left open by finished tasks, for the next (DashScope's SDKs pool them the same way): the next task
   * skips the TCP, TLS and WebSocket handshakes. Idle ones close after 50 s; our own endpoint allows DashScope
   * clients 60 s of silence.
   */
  readonly #idle = new WarmSockets({ size: 4, idleMs: 50_000 });

  async *synthesize(
    input: CosyVoiceInput,
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<CosyVoiceEvent, void, undefined> {
    const plan = this.prepare(input);
    yield* runSession(
      async () => new CosyVoiceSession(this.opts, plan, options.signal, await this.#idle.take(), this.#idle),
      { retry: this.opts.retry, signal: options.signal },
    );
  }

  /** Closes the connections kept for reuse. */
  close(): void {
    this.#idle.close();
  }

  /** How kept connections were used. */
  get reuseStats(): WarmSockets["stats"] {
    return this.#idle.stats;
  }
}

/** One CosyVoice task: run-task on open, the text after task-started, then finish-task. */
class CosyVoiceSession extends DashScopeTask<CosyVoiceEvent> {
  constructor(
    opts: CosyVoiceOptions,
    private readonly plan: CosyVoicePlan,
    signal?: AbortSignal,
    socket?: WebSocket,
    pool?: WarmSockets,
  ) {
    super(opts, { idleTimeoutMs: opts.idleTimeoutMs ?? 20_000, signal, socket, pool });
  }

  #send(command: ReturnType<typeof clientCommand>): void {
    if (this.ws.readyState === OPEN) this.ws.send(JSON.stringify(command));
  }

  protected onOpen(): void {
    this.#send(runTask(this.taskId, this.plan.model, this.plan.parameters));
  }

  protected onEvent(event: CosyVoiceServerEvent): void {
    const { header: h, payload } = event;
    if (h.event === "task-started") {
      // The seed: wait for task-started before sending continue-task.
      for (const message of this.plan.messages)
        this.#send(clientCommand("continue-task", this.taskId, { input: { text: message } }));
      this.#send(clientCommand("finish-task", this.taskId, { input: {} }));
    } else if (h.event === "task-failed") {
      this.failed(h);
    } else if (h.event === "task-finished") {
      this.finished();
    } else if (payload.output?.type === "sentence-end" && payload.output.sentence?.words.length) {
      this.queue.push({ type: "words", words: payload.output.sentence.words });
    }
    // Any other event (one DashScope adds later, a sentence-begin) is passed over, as the SDK does.
  }
}
