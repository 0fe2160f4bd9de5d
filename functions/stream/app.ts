/**
 * The stream function's HTTP and WebSocket surface. Thin: each route parses its input with a schema, calls lib and
 * shapes the response; auth is checked before anything else touches an upstream.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { ApiAuth } from "../../lib/auth.js";
import type { Clients } from "../../lib/clients.js";
import type { Config } from "../../lib/config.js";
import { InputError, toErrorBody } from "../../lib/errors.js";
import { headersOf, rawHttpError, requestUrl } from "../../lib/http/boundary.js";
import { writeChunks, writeError, writeResponse } from "../../lib/http/node.js";
import { json, readJson, readJsonChunks, streamOf } from "../../lib/http/response.js";
import { Router } from "../../lib/http/router.js";
import type { Logger } from "../../lib/log.js";
import { SpeechCache } from "../../lib/speech/cache.js";
import { serveCosyVoiceProxy } from "../../lib/speech/cosyvoice-proxy.js";
import { serveNlsProxy } from "../../lib/speech/nls-proxy.js";
import { fromOpenAi, OpenAiSpeechSchema } from "../../lib/speech/openai.js";
import { fromQuery, type SpeechRequest, SpeechRequestSchema } from "../../lib/speech/request.js";
import { checkStreamLength, type OpenedSpeech, openShortSpeech } from "../../lib/speech/short.js";
import { TenantSlots } from "../../lib/speech/tenant-slots.js";
import { openTimedSpeech, serializeTimed } from "../../lib/speech/timed.js";
import { parseInput } from "../../lib/validation.js";
import { voiceCatalogue } from "../../lib/voices/voice-list.js";
import { PLAYGROUND_HTML } from "./playground.js";

export interface StreamApp {
  readonly router: Router;
  /**
   * Serves POST /v1/stream straight on node:http (the hot path: no WHATWG Request/Response, no router); false for any
   * other request, which the router serves.
   */
  serveStream(req: IncomingMessage, res: ServerResponse): boolean;
  /** Handles a WebSocket upgrade; false when the path is not ours. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Stops accepting WebSocket sessions and waits for cache writes under way. */
  close(): Promise<void>;
}

const EXT_TYPES: Record<string, string> = { mp3: "audio/mpeg", wav: "audio/wav", pcm: "application/octet-stream" };

/** Time limits of the WebSocket endpoints (tests shorten them). */
export interface StreamLimits {
  /** How long a client may send nothing while no task runs. */
  readonly idleTimeoutMs?: number;
  /** How long audio may wait for a client that does not read before the session is closed. */
  readonly stallTimeoutMs?: number;
}

export function createStreamApp(config: Config, clients: Clients, log: Logger, limits: StreamLimits = {}): StreamApp {
  const auth = new ApiAuth({ keys: config.TTS_API_KEYS, tokenSecret: config.TTS_TOKEN_SECRET });
  const cache = config.TTS_CACHE
    ? new SpeechCache(
        clients.storage,
        log,
        (key) => EXT_TYPES[key.split(".").pop() ?? ""] ?? "application/octet-stream",
      )
    : undefined;
  const authorize = (request: Request): string => auth.check(auth.credentialOf(request.headers, new URL(request.url)));
  /** Audio with its word and sentence timings (`timestamps: true`), as NDJSON or, when asked for, SSE. */
  const speakTimed = (req: SpeechRequest, request: Request, signal: AbortSignal): Response => {
    checkStreamLength(req, config.STREAM_MAX_CHARS);
    const timed = openTimedSpeech(req, { nls: clients.nls, cosyvoice: clients.cosyvoice }, signal);
    const sse = /text\/event-stream/i.test(request.headers.get("accept") ?? "");
    const body = serializeTimed(timed.events, sse ? "sse" : "ndjson", (error) => {
      log.warn("timed stream failed", { error });
      return toErrorBody(error).body.error;
    });
    return new Response(streamOf(body[Symbol.asyncIterator]()), {
      headers: {
        "content-type": sse ? "text/event-stream" : "application/x-ndjson",
        "x-audio-format": timed.audioType,
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
      },
    });
  };
  const slots = new TenantSlots(config.STREAM_KEY_CONCURRENCY);
  /** Opens a tenant's speech within its share of streams; `release` gives the slot back once the audio is done. */
  const openSpeech = async (
    req: SpeechRequest,
    tenant: string,
    textField = "text",
  ): Promise<{ speech: OpenedSpeech; release: () => void }> => {
    const release = slots.acquire(tenant);
    try {
      const speech = await openShortSpeech(req, {
        nls: clients.nls,
        cosyvoice: clients.cosyvoice,
        minimax: clients.minimax,
        cache,
        tenant,
        maxChars: config.STREAM_MAX_CHARS,
        textField,
      });
      return { speech, release };
    } catch (error) {
      release();
      throw error;
    }
  };
  const speak = async (req: SpeechRequest, tenant: string, textField = "text"): Promise<Response> => {
    const { speech, release } = await openSpeech(req, tenant, textField);
    return respond(speech, release);
  };

  const router = new Router(log)
    .on("GET", "/", () => new Response(PLAYGROUND_HTML, { headers: { "content-type": "text/html; charset=utf-8" } }))
    .on("GET", "/healthz", () => json(200, { ok: true }))
    .on("GET", "/v1/voices", () =>
      json(
        200,
        voiceCatalogue({
          dashscope: Boolean(config.DASHSCOPE_API_KEY),
          extraCosyVoices: config.COSYVOICE_VOICES,
          streamMaxChars: config.STREAM_MAX_CHARS,
        }),
      ),
    )
    .on("POST", "/v1/tokens", async (request) => {
      // Only a real key may mint: a token cannot extend itself.
      const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
      const owner = bearer ? auth.keyOwner(bearer) : undefined;
      if (!owner) auth.check(undefined);
      // The body is optional (`curl -X POST` sends none at all): no body means the default lifetime.
      const body = ((await readJson(request, 1024, { optional: true })) ?? {}) as { ttlSeconds?: unknown };
      const ttl = typeof body === "object" && body && typeof body.ttlSeconds === "number" ? body.ttlSeconds : 300;
      return json(201, auth.mintToken(owner!, ttl));
    })
    // POST /v1/stream, the hot path, has one implementation, on node:http (serveStream below); the router never sees it.
    .on("GET", "/v1/stream", (request, { signal }) => {
      const tenant = authorize(request);
      clients.nls.prewarm();
      const req = parseInput(SpeechRequestSchema, fromQuery(new URL(request.url).searchParams));
      return req.timestamps ? speakTimed(req, request, signal) : speak(req, tenant);
    })
    .on("POST", "/v1/audio/speech", async (request) => {
      const tenant = authorize(request);
      clients.nls.prewarm();
      return speak(fromOpenAi(parseInput(OpenAiSpeechSchema, await readJson(request))), tenant, "input");
    });

  // Frame limits from the protocols: an NLS StartSynthesis carries at most 300 characters of text (seed 000), so
  // 64 KiB holds it with SSML markup and JSON escapes; a CosyVoice continue-task carries at most 20,000 characters
  // (seed 001), up to 120 KB as JSON \u escapes. An unauthenticated NLS client gets 8 KiB: enough for the header the
  // refusal names, never a large frame read for nobody (ws refuses a larger frame from its length, before buffering).
  const servers = {
    nls: new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 }),
    nlsRefused: new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 8 * 1024 }),
    cosyvoice: new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 256 * 1024 }),
  };
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    const url = requestUrl(req);
    if (!url) {
      socket.end(rawHttpError(400, "BadRequest", "the request target is not a path or an absolute http(s) URL"));
      return true;
    }
    const path = url.pathname.replace(/\/$/, "");
    if (path !== "/ws/v1" && path !== "/api-ws/v1/inference") return false;
    const credential = auth.credentialOf(headersOf(req), url);
    const owner = credential ? auth.ownerOf(credential) : undefined;
    if (path === "/ws/v1") {
      // The NLS SDK only learns of a refusal from a TaskFailed frame, so the proxy answers it after the upgrade.
      const wss = owner ? servers.nls : servers.nlsRefused;
      wss.handleUpgrade(req, socket, head, (ws) =>
        serveNlsProxy(ws, {
          nls: clients.nls,
          log: log.child({ endpoint: path }),
          authorized: Boolean(owner),
          ...limits,
        }),
      );
      return true;
    }
    if (!owner) {
      // DashScope refuses a bad key at the upgrade with 401; so do we, before any upstream connection.
      socket.end(rawHttpError(401, "Unauthorized", "missing or invalid API key or token"));
      return true;
    }
    const upstream = config.DASHSCOPE_API_KEY
      ? { url: config.DASHSCOPE_WS_URL, apiKey: config.DASHSCOPE_API_KEY, workspace: config.DASHSCOPE_WORKSPACE }
      : undefined;
    servers.cosyvoice.handleUpgrade(req, socket, head, (ws) =>
      serveCosyVoiceProxy(ws, {
        upstream,
        extraVoices: config.COSYVOICE_VOICES,
        log: log.child({ endpoint: path }),
        ...limits,
      }),
    );
    return true;
  };
  /**
   * POST /v1/stream on node:http: credentials before the body, the upstream connection opened while the body is read,
   * checked and looked up in the cache, the body bounded, audio written with backpressure.
   */
  const serveStreamFast = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const requestId = (req.headers["x-fc-request-id"] as string | undefined) ?? randomUUID();
    const rlog = log.child({ requestId });
    const aborted = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) aborted.abort(new Error("client disconnected"));
    });
    try {
      const headers = headersOf(req);
      const tenant = auth.check(auth.credentialOf(headers, url));
      clients.nls.prewarm();
      const declared = Number(req.headers["content-length"] ?? "0");
      if (declared > STREAM_BODY_LIMIT)
        throw new InputError("body", `is ${declared} bytes; at most ${STREAM_BODY_LIMIT} are accepted`, {
          limit: STREAM_BODY_LIMIT,
          actual: declared,
          statusCode: 413,
          code: "BodyTooLarge",
        });
      const req2 = parseInput(SpeechRequestSchema, await readJsonChunks(req, STREAM_BODY_LIMIT));
      if (req2.timestamps) {
        const response = speakTimed(req2, new Request("http://local/", { headers }), aborted.signal);
        response.headers.set("x-request-id", requestId);
        return await writeResponse(res, response, aborted.signal);
      }
      const { speech, release } = await openSpeech(req2, tenant);
      try {
        // No flushHeaders: the first audio is already here (prefetched), and goes out with the headers in one write.
        res.writeHead(200, { ...audioHeaders(speech), "x-request-id": requestId });
        const audio = speech.body[Symbol.asyncIterator]();
        await writeChunks(
          res,
          () => audio.next(),
          () => audio.return?.(),
          aborted.signal,
        );
      } finally {
        release();
      }
    } catch (error) {
      await writeError(res, error, rlog, { "x-request-id": requestId });
    }
  };

  return {
    router,
    serveStream(req, res) {
      if (req.method !== "POST") return false;
      const url = requestUrl(req);
      if (url?.pathname !== "/v1/stream") return false;
      // An error boundary: nothing a request carries may throw out of the listener.
      void serveStreamFast(req, res, url).catch((error: unknown) => {
        log.error("stream request failed", { error });
        res.destroy();
      });
      return true;
    },
    upgrade(req, socket, head) {
      // An error boundary: nothing a client sends in an upgrade request may throw out of the server's listener.
      try {
        return upgrade(req, socket, head);
      } catch (error) {
        log.error("websocket upgrade failed", { error });
        if (socket.writable) socket.end(rawHttpError(500, "InternalError", "internal error"));
        else socket.destroy();
        return true;
      }
    },
    async close() {
      for (const wss of Object.values(servers)) {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
      }
      clients.nls.close();
      clients.cosyvoice?.close();
      await cache?.drain();
    },
  };
}

/** The JSON body of a stream request: text of up to STREAM_MAX_CHARS characters and options, as JSON escapes. */
const STREAM_BODY_LIMIT = 64 * 1024;

function audioHeaders(speech: OpenedSpeech): Record<string, string> {
  return {
    "content-type": speech.contentType,
    "x-cache": speech.cache,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  };
}

/** The audio as a Response; `release` (the tenant's slot) goes back when the body ends, fails or is cancelled. */
function respond(speech: OpenedSpeech, release: () => void): Response {
  const iterator = speech.body[Symbol.asyncIterator]();
  const released: AsyncIterator<Uint8Array> = {
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
  return new Response(streamOf(released), { headers: audioHeaders(speech) });
}

/** A custom runtime behind an HTTP trigger: FC proxies raw HTTP (and WebSocket upgrades) to the server. */
export const EVENTS = { triggers: ["http"] as const, schema: undefined };
