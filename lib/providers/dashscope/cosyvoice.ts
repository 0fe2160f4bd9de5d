/**
 * CosyVoice over the DashScope WebSocket API (seed 001, facts §8): run-task, wait for task-started, continue-task with
 * the text (one message with SSML, at most 20,000 characters each otherwise), finish-task; audio arrives as one binary
 * frame after each sentence-synthesis event, the task ends with task-finished or task-failed.
 */
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import { z } from "zod";
import { InputError, ProviderError } from "../../errors.js";
import { type RetryOptions, withRetry } from "../../retry.js";
import { assertValidSsml, chunkText, countCosyVoiceChars, cosyVoiceWeight, spokenText } from "../../text/index.js";
import { parseInput } from "../../validation.js";
import { checkCosyVoice } from "../../voices/cosyvoice.js";
import { SocketQueue } from "../ws-queue.js";
import { type CosyVoiceParameters, CosyVoiceParametersSchema, ServerEventSchema, type WordSchema } from "./messages.js";

/** Seed 001 / facts §8: per continue-task and per task, with a Han character counted twice. */
export const COSYVOICE_MESSAGE_LIMIT = 20_000;
export const COSYVOICE_TASK_LIMIT = 200_000;

const wire = CosyVoiceParametersSchema.shape;

/** @example { text: "床前明月光", model: "cosyvoice-v3-flash", voice: "longanyang", format: "mp3", sampleRate: 22050 } */
export const CosyVoiceInputSchema = z
  .object({
    text: z.string().optional(),
    ssml: z.string().optional(),
    model: z.string().default("cosyvoice-v3-flash"),
    voice: z.string().default("longanyang"),
    format: wire.format,
    sampleRate: wire.sample_rate,
    volume: wire.volume,
    rate: wire.rate,
    pitch: wire.pitch,
    wordTimestamps: z.boolean().default(false),
  })
  .refine((v) => (v.text === undefined) !== (v.ssml === undefined), { message: "give exactly one of text or ssml", path: ["text"] });
export type CosyVoiceInput = z.input<typeof CosyVoiceInputSchema>;

export type CosyVoiceEvent = { readonly type: "audio"; readonly data: Buffer } | { readonly type: "words"; readonly words: ReadonlyArray<z.infer<typeof WordSchema>> };

export interface CosyVoicePlan {
  readonly model: string;
  readonly parameters: CosyVoiceParameters;
  /** The continue-task texts, in order. */
  readonly messages: readonly string[];
  readonly characters: number;
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
    checkCosyVoice(req.model, req.voice, this.opts.extraVoices);
    const field = req.ssml !== undefined ? "ssml" : "text";
    const ssml = req.ssml !== undefined;
    // CosyVoice reads SSML only with enable_ssml, so plain text is sent as it is; markup characters are harmless.
    const text = req.ssml ?? req.text!;
    if (spokenText(text).trim() === "") throw new InputError(field, "must contain text to speak", { code: "EmptyText" });
    const characters = countCosyVoiceChars(text);
    const limit = ssml ? COSYVOICE_MESSAGE_LIMIT : COSYVOICE_TASK_LIMIT;
    if (characters > limit) {
      throw new InputError(field, `is ${characters} characters as CosyVoice counts them (a Han character counts 2); at most ${limit} ${ssml ? "in one SSML request" : "per task"}`, { limit, actual: characters, statusCode: 413, code: "TextTooLong" });
    }
    if (ssml) assertValidSsml(text, { flavor: "cosyvoice", sampleRate: req.sampleRate }, "ssml");
    const parameters = CosyVoiceParametersSchema.parse({
      voice: req.voice,
      format: req.format,
      sample_rate: req.sampleRate,
      volume: req.volume,
      rate: req.rate,
      pitch: req.pitch,
      enable_ssml: ssml,
      word_timestamp_enabled: req.wordTimestamps,
    });
    const messages = ssml ? [text] : chunkText(text, { max: COSYVOICE_MESSAGE_LIMIT, weight: cosyVoiceWeight });
    return { model: req.model, parameters, messages, characters };
  }

  async *synthesize(input: CosyVoiceInput, options: { signal?: AbortSignal } = {}): AsyncGenerator<CosyVoiceEvent, void, undefined> {
    const plan = this.prepare(input);
    const session = await withRetry(
      async () => {
        const s = new CosyVoiceSession(this.opts, plan, options.signal);
        try {
          await s.first();
          return s;
        } catch (error) {
          s.close();
          throw error;
        }
      },
      { attempts: 3, baseMs: 200, ...this.opts.retry, signal: options.signal },
    );
    try {
      yield* session.events();
    } finally {
      session.close();
    }
  }
}

/** DashScope's transient errors; everything else (InvalidParameter, auth, quota) fails at once. */
const RETRYABLE = /^(Throttling|InternalError|ServiceUnavailable|RequestTimeOut|ModelServingError)/;

class CosyVoiceSession {
  readonly #ws: WebSocket;
  readonly #queue: SocketQueue<CosyVoiceEvent>;
  readonly #taskId = randomUUID();
  #idle: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: CosyVoiceOptions,
    plan: CosyVoicePlan,
    private readonly signal?: AbortSignal,
  ) {
    const headers: Record<string, string> = { authorization: `bearer ${opts.apiKey}` };
    if (opts.workspace) headers["X-DashScope-WorkSpace"] = opts.workspace;
    this.#ws = new WebSocket(opts.url, { headers, perMessageDeflate: false, handshakeTimeout: opts.connectTimeoutMs ?? 10_000 });
    this.#queue = new SocketQueue(this.#ws, opts.highWaterMark ?? 1024 * 1024);
    const header = (action: string) => ({ action, task_id: this.#taskId, streaming: "duplex" });
    this.#ws.on("open", () => {
      this.#send({ header: header("run-task"), payload: { task_group: "audio", task: "tts", function: "SpeechSynthesizer", model: plan.model, parameters: plan.parameters, input: {} } });
      this.#armIdle();
    });
    this.#ws.on("message", (data: Buffer, isBinary) => {
      this.#armIdle();
      if (isBinary) return this.#queue.push({ type: "audio", data }, data.length);
      let event;
      try {
        event = ServerEventSchema.parse(JSON.parse(data.toString("utf8")));
      } catch {
        return this.#queue.fail(new ProviderError({ provider: "cosyvoice", code: "InvalidMessage", upstreamMessage: "DashScope sent a frame that is not a valid event", retryable: false }));
      }
      const { header: h, payload } = event;
      if (h.event === "task-started") {
        // The seed: wait for task-started before sending continue-task.
        for (const text of plan.messages) this.#send({ header: header("continue-task"), payload: { input: { text } } });
        this.#send({ header: header("finish-task"), payload: { input: {} } });
      } else if (h.event === "task-failed") {
        this.#queue.fail(new ProviderError({ provider: "cosyvoice", code: h.error_code ?? "TaskFailed", upstreamMessage: h.error_message ?? "", retryable: RETRYABLE.test(h.error_code ?? ""), taskId: this.#taskId }));
        this.close();
      } else if (h.event === "task-finished") {
        this.#queue.end();
        this.close();
      } else if (payload.output?.type === "sentence-end" && payload.output.sentence?.words.length) {
        this.#queue.push({ type: "words", words: payload.output.sentence.words });
      }
    });
    this.#ws.on("unexpected-response", (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      this.#queue.fail(new ProviderError({ provider: "cosyvoice", code: status === 401 ? "InvalidApiKey" : `HTTP${status}`, upstreamMessage: `DashScope refused the connection: HTTP ${status}`, retryable: status >= 500 || status === 429 }));
    });
    this.#ws.on("error", (error: Error & { code?: string }) => {
      this.#queue.fail(new ProviderError({ provider: "cosyvoice", code: error.code ?? "NetworkError", upstreamMessage: `DashScope connection failed: ${error.code ?? error.message}`, retryable: true, cause: error }));
    });
    this.#ws.on("close", (code) => {
      this.#queue.fail(new ProviderError({ provider: "cosyvoice", code: "ConnectionClosed", upstreamMessage: `DashScope closed the connection (${code}) before task-finished`, retryable: true }));
    });
    signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  readonly #onAbort = (): void => {
    this.#queue.fail(Object.assign(new Error("synthesis aborted"), { name: "AbortError" }));
    this.close();
  };

  #send(message: unknown): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(message));
  }

  #armIdle(): void {
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => {
      this.#queue.fail(new ProviderError({ provider: "cosyvoice", code: "Timeout", upstreamMessage: `no frame from DashScope for ${this.opts.idleTimeoutMs ?? 20_000} ms`, retryable: true }));
      this.close();
    }, this.opts.idleTimeoutMs ?? 20_000);
  }

  first(): Promise<void> {
    return this.#queue.peek();
  }

  events(): AsyncGenerator<CosyVoiceEvent, void, undefined> {
    return this.#queue.drain();
  }

  close(): void {
    clearTimeout(this.#idle);
    this.signal?.removeEventListener("abort", this.#onAbort);
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.terminate();
  }
}

