/**
 * The stream function's speech, shared by its HTTP routes: a tenant's audio opened within its share of streams and
 * through the cache, or audio with word timings; each shaped as the response the routes send.
 */
import { AccountBudget, type Lease } from "../../lib/budget/account-budget.js";
import { interactiveLease } from "../../lib/budget/interactive.js";
import type { Clients } from "../../lib/clients.js";
import type { Config } from "../../lib/config.js";
import { toErrorBody } from "../../lib/errors.js";
import { streamOf } from "../../lib/http/response.js";
import type { Logger } from "../../lib/log.js";
import type { StreamProviderName } from "../../lib/provider-registry.js";
import { SpeechCache } from "../../lib/speech/cache.js";
import { LiveRecords } from "../../lib/speech/live/live-records.js";
import type { LiveOptions } from "../../lib/speech/live/live-request.js";
import { type OpenedLive, openLive } from "../../lib/speech/live/open-live.js";
import { openAiSpeechEvents } from "../../lib/speech/openai-sse.js";
import type { SpeechRequest } from "../../lib/speech/request.js";
import { checkStreamLength, leaseWeight, type OpenedSpeech, openShortSpeech } from "../../lib/speech/short.js";
import { TenantSlots } from "../../lib/speech/tenant-slots.js";
import { openTimedSpeech, serializeTimed } from "../../lib/speech/timed.js";
import { countNlsChars } from "../../lib/text/index.js";

const EXT_TYPES: Record<string, string> = { mp3: "audio/mpeg", wav: "audio/wav", pcm: "application/octet-stream" };

export class StreamSpeech {
  readonly #cache: SpeechCache | undefined;
  readonly #slots: TenantSlots;
  readonly #budget: AccountBudget;
  readonly #liveRecords: LiveRecords;

  constructor(
    private readonly config: Config,
    private readonly clients: Clients,
    private readonly log: Logger,
  ) {
    this.#cache = config.TTS_CACHE
      ? new SpeechCache(
          clients.storage,
          log,
          (key) => EXT_TYPES[key.split(".").pop() ?? ""] ?? "application/octet-stream",
        )
      : undefined;
    this.#slots = new TenantSlots(config.STREAM_KEY_CONCURRENCY);
    this.#liveRecords = new LiveRecords(clients.storage, `${config.JOBS_PREFIX}live/`);
    this.#budget = new AccountBudget({
      bucket: clients.storage,
      root: `${config.JOBS_PREFIX}budget/`,
      limits: config.PROVIDER_BUDGET,
    });
  }

  /** Opens a tenant's speech within its share of streams; `release` gives the slot back once the audio is done. */
  async open(
    req: SpeechRequest,
    tenant: string,
    textField = "text",
  ): Promise<{ speech: OpenedSpeech; release: () => void }> {
    const release = this.#slots.acquire(tenant);
    try {
      const speech = await openShortSpeech(req, {
        nls: this.clients.nls,
        cosyvoice: this.clients.cosyvoice,
        minimax: this.clients.minimax,
        cache: this.#cache,
        tenant,
        lease: (provider, weight) => this.lease(provider, weight, tenant),
        maxChars: this.config.STREAM_MAX_CHARS[req.provider],
        textField,
        aigcProducer: this.config.AIGC_PROVIDER_NAME,
      });
      return { speech, release };
    } catch (error) {
      release();
      throw error;
    }
  }

  /** The tenant's audio as a Response, its slot given back when the body ends, fails or is cancelled. */
  async respond(req: SpeechRequest, tenant: string, textField = "text"): Promise<Response> {
    const { speech, release } = await this.open(req, tenant, textField);
    return new Response(streamOf(releasing(speech.body[Symbol.asyncIterator](), release)), {
      headers: audioHeaders(speech),
    });
  }

  /** The tenant's audio as OpenAI's server-sent events (`stream_format: "sse"`), its slot given back at the end. */
  async respondOpenAiEvents(req: SpeechRequest, tenant: string, textField: string): Promise<Response> {
    const { speech, release } = await this.open(req, tenant, textField);
    const events = openAiSpeechEvents(
      { [Symbol.asyncIterator]: () => releasing(speech.body[Symbol.asyncIterator](), release) },
      countNlsChars(req.text ?? req.ssml ?? ""),
      (error) => {
        this.log.warn("openai event stream failed", { error });
        return toErrorBody(error).body.error;
      },
    );
    return new Response(streamOf(events[Symbol.asyncIterator]()), {
      headers: eventHeaders("text/event-stream", req.format),
    });
  }

  /** Audio with its word and sentence timings (`timestamps: true`), as NDJSON or, when `accept` asks, SSE. */
  async timed(req: SpeechRequest, tenant: string, accept: string | null, signal: AbortSignal): Promise<Response> {
    checkStreamLength(req, this.config.STREAM_MAX_CHARS[req.provider]);
    const timed = openTimedSpeech(
      req,
      { nls: this.clients.nls, cosyvoice: this.clients.cosyvoice, aigcProducer: this.config.AIGC_PROVIDER_NAME },
      signal,
    );
    // Its lease before any provider task (429 past the budget, as JSON: nothing is sent yet), given back at its end.
    const lease = await this.lease(req.provider, leaseWeight(req), tenant);
    signal.addEventListener("abort", () => void lease.give().catch(() => undefined), { once: true });
    const sse = /text\/event-stream/i.test(accept ?? "");
    const body = serializeTimed(giving(timed.events, lease), sse ? "sse" : "ndjson", (error) => {
      this.log.warn("timed stream failed", { error });
      return toErrorBody(error).body.error;
    });
    return new Response(streamOf(body[Symbol.asyncIterator]()), {
      headers: eventHeaders(sse ? "text/event-stream" : "application/x-ndjson", timed.audioType),
    });
  }

  /** A live stream for a tenant, its options checked before its lease and its provider task. */
  openLive(options: LiveOptions, tenant: string, keepAliveMs?: number): Promise<OpenedLive> {
    // The first unit's connection opens while the client writes it, as a stream request's does.
    if (options.provider === "nls") this.clients.nls.prewarm();
    return openLive(options, {
      nls: this.clients.nls,
      cosyvoice: this.clients.cosyvoice,
      maxChars: this.config.STREAM_MAX_CHARS,
      lease: (provider, weight) => this.lease(provider, weight, tenant),
      aigcProducer: this.config.AIGC_PROVIDER_NAME,
      keepAliveMs,
    });
  }

  /** Where live streams' records are kept. */
  get liveRecords(): LiveRecords {
    return this.#liveRecords;
  }

  /** A stream's lease from the account's budget (429 past it): every path that starts a provider task takes one. */
  lease(provider: StreamProviderName, weight: number, tenant: string): Promise<Lease> {
    return interactiveLease(this.#budget, { provider, tenant, weight });
  }

  /** Waits for cache writes under way. */
  drain(): Promise<void> {
    return this.#cache?.drain() ?? Promise.resolve();
  }
}

export function audioHeaders(speech: OpenedSpeech): Record<string, string> {
  return {
    "content-type": speech.contentType,
    "x-cache": speech.cache,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  };
}

/** An event stream's headers (timed speech, OpenAI's events): its type, and the format of the audio it carries. */
function eventHeaders(contentType: string, audioFormat: string): Record<string, string> {
  return {
    "content-type": contentType,
    "x-audio-format": audioFormat,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  };
}

/** `events`, the lease given back once they end, fail or are returned early. */
async function* giving<T>(events: AsyncIterable<T>, lease: Lease): AsyncGenerator<T> {
  try {
    yield* events;
  } finally {
    await lease.give();
  }
}

/** `iterator`, calling `release` once when it ends, fails or is returned early. */
function releasing(iterator: AsyncIterator<Uint8Array>, release: () => void): AsyncIterator<Uint8Array> {
  return {
    next: async () => {
      try {
        const step = await iterator.next();
        if (step.done) release();
        return step;
      } catch (error) {
        release();
        throw error;
      }
    },
    return: async (value?: unknown) => {
      release();
      return (await iterator.return?.(value)) ?? { done: true, value: undefined };
    },
  };
}
