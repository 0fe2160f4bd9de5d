/**
 * NLS long-text synthesis over REST (seed 003): POST a task to `/rest/v1/tts/async`, then learn its result by GET
 * (or from the notify_url callback, which is only a hint). Up to 100,000 characters, 8 or 16 kHz, pcm/wav/mp3,
 * sentence timestamps with `enable_subtitle`; audio kept 7 days, completion promised within 3 hours.
 */

import { InputError, type UpstreamError } from "../../errors.js";
import { requestText } from "../../net/http-client.js";
import { type BackoffOptions, withRetry } from "../../retry.js";
import { assertValidSsml, countNlsChars, speakable } from "../../text/index.js";
import { parseInput } from "../../validation.js";
import { validateVoiceRequest } from "../../voices/index.js";
import { nlsError } from "./errors.js";
import {
  type LongTextCallback,
  LongTextCallbackSchema,
  type LongTextInput,
  LongTextInputSchema,
  type LongTextRequest,
  type LongTextResponse,
  LongTextResponseSchema,
  type Sentence,
} from "./long-text-schema.js";
import { NLS_STATUS } from "./status.js";
import type { TokenSource } from "./token.js";

export {
  type LongTextCallback,
  LongTextCallbackSchema,
  type LongTextInput,
  LongTextInputSchema,
  type LongTextRequest,
  LongTextRequestSchema,
  type LongTextResponse,
  LongTextResponseSchema,
  type Sentence,
  SentenceSchema,
} from "./long-text-schema.js";

export const LONG_TEXT_LIMIT = 100_000;
/** Seed 003: results within 3 hours, audio kept 7 days. */
export const LONG_TEXT_DEADLINE_MS = 3 * 3600_000;
export const LONG_TEXT_RETENTION_MS = 7 * 24 * 3600_000;

export type LongTextStatus =
  | { readonly state: "queued" | "running"; readonly taskId: string }
  | {
      readonly state: "success";
      readonly taskId: string;
      readonly audioAddress: string;
      readonly sentences: Sentence[];
    };

export interface NlsLongTextOptions {
  /** https://nls-gateway-cn-shanghai.aliyuncs.com/rest/v1/tts/async */
  readonly url: string;
  readonly appKey: string;
  readonly tokens: TokenSource;
  readonly timeoutMs?: number;
  /** Backoff for transient failures (defaults: 4 attempts, 300 ms base); tests inject random/sleep/onRetry. */
  readonly retry?: BackoffOptions;
}

/** Seed 003: notify_url's host must be a name, not an IP address. */
export const isIpHost = (hostname: string): boolean => /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])$/i.test(hostname);

export class NlsLongTextClient {
  constructor(private readonly opts: NlsLongTextOptions) {}

  /** Validates and builds `tts_request`; throws InputError naming the field and the limit. No I/O. */
  prepare(input: LongTextInput): LongTextRequest["payload"]["tts_request"] {
    const req = parseInput(LongTextInputSchema, input);
    const voice = validateVoiceRequest({
      voice: req.voice,
      sampleRate: req.sampleRate,
      mode: "long",
      enableSubtitle: req.enableSubtitle,
    });
    const { text, field } = speakable(req);
    const count = countNlsChars(text);
    if (count > LONG_TEXT_LIMIT) {
      throw new InputError(
        field,
        `is ${count} characters; NLS long-text synthesis takes at most ${LONG_TEXT_LIMIT} (seed 003)`,
        { limit: LONG_TEXT_LIMIT, actual: count, statusCode: 413, code: "TextTooLong" },
      );
    }
    if (req.ssml !== undefined)
      assertValidSsml(req.ssml, { flavor: "nls", emotions: voice.emotions, sampleRate: req.sampleRate }, "ssml");
    return {
      voice: req.voice,
      sample_rate: req.sampleRate,
      format: req.format,
      text,
      volume: req.volume,
      speech_rate: req.speechRate,
      pitch_rate: req.pitchRate,
      enable_subtitle: req.enableSubtitle,
    };
  }

  /** Submits a task; `notifyUrl` (optional) must name a host, not an IP address (seed 003). */
  async submit(
    input: LongTextInput,
    opts: { notifyUrl?: string; context?: Record<string, unknown> } = {},
  ): Promise<{ taskId: string; requestId?: string }> {
    const ttsRequest = this.prepare(input);
    if (opts.notifyUrl !== undefined) {
      const url = URL.canParse(opts.notifyUrl) ? new URL(opts.notifyUrl) : undefined;
      if (!url || !/^https?:$/.test(url.protocol)) throw new InputError("notifyUrl", "must be an http or https URL");
      if (isIpHost(url.hostname))
        throw new InputError("notifyUrl", `must use a host name, not the IP address ${url.hostname} (seed 003)`);
    }
    const response = await this.#call(async (token) => {
      const body: LongTextRequest = {
        payload: {
          tts_request: ttsRequest,
          enable_notify: opts.notifyUrl !== undefined,
          ...(opts.notifyUrl ? { notify_url: opts.notifyUrl } : {}),
        },
        context: opts.context ?? {},
        header: { appkey: this.opts.appKey, token },
      };
      return this.#http("POST", this.opts.url, JSON.stringify(body));
    });
    if (!response.data?.task_id)
      throw nlsError({
        code: "InvalidResponse",
        upstreamMessage: "long-text POST answered without data.task_id",
        retryable: true,
      });
    return { taskId: response.data.task_id, requestId: response.request_id };
  }

  /** The task's state as the provider reports it now; a failed task throws its UpstreamError. */
  async status(taskId: string): Promise<LongTextStatus> {
    const response = await this.#call((token) => {
      const url = new URL(this.opts.url);
      url.searchParams.set("appkey", this.opts.appKey);
      url.searchParams.set("task_id", taskId);
      url.searchParams.set("token", token);
      return this.#http("GET", url.toString());
    });
    const state = stateOf(response);
    if (state !== "success") return { state, taskId };
    const audioAddress = response.data?.audio_address;
    if (!audioAddress) return { state: "running", taskId };
    return { state: "success", taskId, audioAddress, sentences: response.data?.sentences ?? [] };
  }

  /** Parses a callback body (a hint only); throws InputError when it is not one. */
  parseCallback(body: unknown): LongTextCallback {
    return parseInput(LongTextCallbackSchema, body, "callback");
  }

  /** One request with retries of transient failures and one token refresh. */
  async #call(send: (token: string) => Promise<LongTextResponse>): Promise<LongTextResponse> {
    let refreshed = false;
    return withRetry(
      async () => {
        const token = await this.opts.tokens.token();
        const response = await send(token);
        const error = errorOf(response);
        if (!error) return response;
        if (error.needsNewToken && !refreshed) {
          refreshed = true;
          this.opts.tokens.invalidate(token);
          throw nlsError({
            code: error.providerCode,
            upstreamMessage: error.upstreamMessage,
            retryable: true,
          });
        }
        throw error;
      },
      { attempts: 4, baseMs: 300, ...this.opts.retry },
    );
  }

  async #http(method: "GET" | "POST", url: string, body?: string): Promise<LongTextResponse> {
    let res: { status: number; text: string };
    try {
      res = await requestText(url, {
        method,
        body,
        headers: body ? { "content-type": "application/json" } : {},
        timeoutMs: this.opts.timeoutMs ?? 15_000,
      });
    } catch (error) {
      const code = (error as { code?: string }).code ?? "NetworkError";
      throw nlsError({
        code,
        upstreamMessage: `long-text ${method} failed: ${code}`,
        retryable: true,
        cause: error,
      });
    }
    const text = res.text;
    const parsed = LongTextResponseSchema.safeParse(safeJson(text));
    if (!parsed.success) {
      throw nlsError({
        code: `HTTP${res.status}`,
        upstreamMessage: `long-text ${method} answered HTTP ${res.status} without a valid body`,
        retryable: res.status >= 500 || res.status === 429,
      });
    }
    return parsed.data;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** RUNNING and QUEUEING are states, by code (21050001/2) or, as the seed's own sample has it, by message. */
function stateOf(response: LongTextResponse): "queued" | "running" | "success" {
  if (response.error_code === 21050002 || response.error_message === "QUEUEING") return "queued";
  if (response.error_code === 21050001 || response.error_message === "RUNNING") return "running";
  return "success";
}

function errorOf(response: LongTextResponse): UpstreamError | undefined {
  const entry = NLS_STATUS[String(response.error_code)];
  if (entry && entry.kind !== "error") return undefined;
  if (!entry && response.status === 200 && response.error_code < 40000000) return undefined;
  return nlsError({
    code: response.error_code,
    upstreamMessage: response.error_message,
    taskId: response.data?.task_id,
  });
}
