/**
 * Short-text synthesis over the NLS WebSocket gateway (seed 000): one StartSynthesis frame, then binary audio frames,
 * MetaInfo subtitles and SynthesisCompleted, or TaskFailed.
 *
 * Everything checkable is checked before a connection is opened (length by the seed's rule, voice, sample rate,
 * SSML), so nothing is silently truncated by the gateway. Audio comes out as an async iterable that applies
 * backpressure: a slow consumer pauses the socket instead of growing a buffer. Leaving the loop closes the upstream.
 */

import type WebSocket from "ws";
import { InputError, UpstreamError } from "../../errors.js";
import type { RetryOptions } from "../../retry.js";
import { assertValidSsml, countNlsChars, speakable } from "../../text/index.js";
import { parseInput, textXorSsml } from "../../validation.js";
import { validateVoiceRequest } from "../../voices/index.js";
import * as z from "../../zod.js";
import { WarmSockets } from "../warm-sockets.js";
import { runSession, WsSession } from "../ws-session.js";
import { nlsError } from "./errors.js";
import {
  NlsFormatSchema,
  type ServerEvent,
  ServerEventSchema,
  type StartSynthesis,
  type StartSynthesisPayload,
  StartSynthesisPayloadSchema,
  type Subtitle,
  startSynthesis,
} from "./messages.js";
import type { TokenSource } from "./token.js";

/** Seed 000: at most 300 characters per request (a Chinese character, letter, punctuation mark or space = 1). */
export const NLS_SHORT_TEXT_LIMIT = 300;

const wire = StartSynthesisPayloadSchema.shape;

/**
 * What a caller asks for: exactly one of `text` (plain, never interpreted as markup) or `ssml` (a <speak> document).
 * @example { text: "你好，世界", voice: "siqi", format: "mp3", sampleRate: 16000, enableSubtitle: true }
 */
export const NlsSpeechInputSchema = z
  .object({
    text: z.optional(z.string()),
    ssml: z.optional(z.string()),
    // The wire schema's ranges and defaults, under our camelCase names (mp3 rather than the gateway's pcm default).
    voice: wire.voice,
    format: z._default(NlsFormatSchema, "mp3"),
    sampleRate: wire.sample_rate,
    volume: wire.volume,
    speechRate: wire.speech_rate,
    pitchRate: wire.pitch_rate,
    enableSubtitle: wire.enable_subtitle,
  })
  .check(textXorSsml());
export type NlsSpeechInput = z.input<typeof NlsSpeechInputSchema>;

export type NlsSynthesisEvent =
  | { readonly type: "audio"; readonly data: Buffer }
  | { readonly type: "subtitles"; readonly subtitles: readonly Subtitle[] };

export interface NlsSynthesizerOptions {
  /** Connections kept open ahead of requests (0: none), each used for one task, as the NLS SDK uses a connection. */
  readonly warmSockets?: number;
  /** Gateway URL, e.g. wss://nls-gateway-cn-shanghai.aliyuncs.com/ws/v1 */
  readonly url: string;
  readonly appKey: string;
  readonly tokens: TokenSource;
  readonly connectTimeoutMs?: number;
  /** No frame from the gateway for this long fails the task (the gateway's own idle limit is 10 s). */
  readonly idleTimeoutMs?: number;
  /** Bytes queued for a slow consumer before the socket is paused. */
  readonly highWaterMark?: number;
  /** Reports the bytes waiting for the consumer after each frame: a metrics hook, and how tests see backpressure. */
  readonly onBuffered?: (bytes: number) => void;
  /** Retries before the first audio byte (transient codes, a refused token). Afterwards nothing is retried. */
  readonly retry?: RetryOptions;
}

export class NlsSynthesizer {
  readonly #warm: WarmSockets | undefined;

  constructor(private readonly opts: NlsSynthesizerOptions) {
    this.#warm = opts.warmSockets
      ? new WarmSockets({
          size: opts.warmSockets,
          connectTimeoutMs: opts.connectTimeoutMs,
          target: async () => ({ url: opts.url, headers: { "X-NLS-Token": await opts.tokens.token() } }),
        })
      : undefined;
  }

  /**
   * Starts opening connections (and fetching the token, if due) for requests about to come: the stream function calls
   * it when a request arrives, so the handshakes overlap the request's checks and cache lookup. No-op without warmSockets.
   */
  prewarm(): void {
    this.#warm?.prewarm();
  }

  /** Closes the warm connections (and any still opening, once open): on shutdown, or when done with this client. */
  close(): void {
    this.#warm?.close();
  }

  /** How the warm connections were used (opened, used, expired). */
  get warmStats(): WarmSockets["stats"] | undefined {
    return this.#warm?.stats;
  }

  /** Validates and builds the wire payload; throws InputError naming the field and the limit. No I/O. */
  prepare(input: NlsSpeechInput): StartSynthesisPayload {
    const req = parseInput(NlsSpeechInputSchema, input);
    const voice = validateVoiceRequest({
      voice: req.voice,
      sampleRate: req.sampleRate,
      mode: "short",
      enableSubtitle: req.enableSubtitle,
    });
    const { text, field } = speakable(req);
    const count = countNlsChars(text);
    if (count > NLS_SHORT_TEXT_LIMIT) {
      throw new InputError(
        field,
        `is ${count} characters; NLS short-text synthesis takes at most ${NLS_SHORT_TEXT_LIMIT} (tags not counted): use a long-text job`,
        { limit: NLS_SHORT_TEXT_LIMIT, actual: count, statusCode: 413, code: "TextTooLong" },
      );
    }
    if (req.ssml !== undefined)
      assertValidSsml(req.ssml, { flavor: "nls", emotions: voice.emotions, sampleRate: req.sampleRate }, "ssml");
    return {
      text,
      voice: req.voice,
      format: req.format,
      sample_rate: req.sampleRate,
      volume: req.volume,
      speech_rate: req.speechRate,
      pitch_rate: req.pitchRate,
      enable_subtitle: req.enableSubtitle,
    };
  }

  /** Streams the synthesis. Validation errors are thrown before any connection is made. */
  async *synthesize(
    input: NlsSpeechInput,
    /** `prepared`: what `prepare(input)` already returned, so the input is not checked twice. */
    options: { signal?: AbortSignal; prepared?: StartSynthesisPayload } = {},
  ): AsyncGenerator<NlsSynthesisEvent, void, undefined> {
    const payload = options.prepared ?? this.prepare(input);
    let refreshedToken = false;
    let token = "";
    yield* runSession(
      async () => {
        token = await this.opts.tokens.token();
        const socket = await this.#warm?.take();
        // The one taken is replaced for the next request, once this one's first audio is on its way: its handshake
        // does not compete with this request for the CPU.
        const replace = socket ? () => this.#warm?.prewarm() : undefined;
        return new NlsSession(this.opts, token, payload, options.signal, socket, replace);
      },
      {
        retry: this.opts.retry,
        signal: options.signal,
        // A refused token (40000001/403) is worth exactly one more try, with a fresh token.
        mapError: (error) => {
          if (!(error instanceof UpstreamError) || !error.needsNewToken || refreshedToken) return error;
          refreshedToken = true;
          this.opts.tokens.invalidate(token);
          this.#warm?.flush();
          return nlsError({
            code: error.providerCode,
            upstreamMessage: error.upstreamMessage,
            retryable: true,
            cause: error,
          });
        },
      },
    );
  }

  /** Collects a whole synthesis: for callers that want a Buffer, not a stream. */
  async synthesizeToBuffer(
    input: NlsSpeechInput,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ audio: Buffer; subtitles: Subtitle[] }> {
    const chunks: Buffer[] = [];
    const subtitles: Subtitle[] = [];
    for await (const event of this.synthesize(input, options)) {
      if (event.type === "audio") chunks.push(event.data);
      else subtitles.push(...event.subtitles);
    }
    return { audio: Buffer.concat(chunks), subtitles };
  }
}

/** One NLS task: StartSynthesis on open; MetaInfo, SynthesisCompleted and TaskFailed read from text frames. */
class NlsSession extends WsSession<NlsSynthesisEvent, ServerEvent> {
  readonly #start: StartSynthesis;

  constructor(
    opts: NlsSynthesizerOptions,
    token: string,
    payload: StartSynthesisPayload,
    signal?: AbortSignal,
    socket?: WebSocket,
    afterFirstFrame?: () => void,
  ) {
    super({
      afterFirstFrame,
      provider: "nls",
      peer: "gateway",
      events: ServerEventSchema,
      url: opts.url,
      headers: { "X-NLS-Token": token },
      ...(socket ? { socket } : {}),
      connectTimeoutMs: opts.connectTimeoutMs,
      idleTimeoutMs: opts.idleTimeoutMs ?? 15_000,
      highWaterMark: opts.highWaterMark,
      onBuffered: opts.onBuffered,
      signal,
      refusal: (status) => (status === 403 ? "403" : `HTTP${status}`),
      completion: "SynthesisCompleted",
    });
    this.#start = {
      ...startSynthesis(opts.appKey, payload),
      context: { sdk: { name: "fc-tts-pipeline", version: "0.1.0", language: "nodejs" } },
    };
  }

  protected onOpen(): void {
    this.ws.send(JSON.stringify(this.#start));
  }

  protected onEvent(event: ServerEvent): void {
    const { header } = event;
    if (header.name === "TaskFailed") {
      return this.queue.fail(
        nlsError({
          code: header.status,
          upstreamMessage: header.status_text ?? header.status_message,
          taskId: this.#start.header.task_id,
        }),
      );
    }
    if (header.name === "MetaInfo" && event.payload?.subtitles)
      return this.queue.push({ type: "subtitles", subtitles: event.payload.subtitles });
    if (header.name === "SynthesisCompleted") {
      this.queue.end();
      this.close();
    }
  }
}
