/**
 * The stream function's HTTP and WebSocket surface. Thin: each route parses its input with a schema, calls lib and
 * shapes the response; auth is checked before anything else touches an upstream. POST /v1/stream, the hot path, is
 * served on node:http by ./post-stream.ts; the WebSocket endpoints are ./websockets.ts.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { ApiAuth, TokenRequestSchema } from "../../lib/auth.js";
import type { Clients } from "../../lib/clients.js";
import type { Config } from "../../lib/config.js";
import { rawHttpError, requestUrl } from "../../lib/http/boundary.js";
import { Cors } from "../../lib/http/cors.js";
import { json, readJson } from "../../lib/http/response.js";
import { Router } from "../../lib/http/router.js";
import type { Logger } from "../../lib/log.js";
import { fromOpenAi, OpenAiSpeechSchema } from "../../lib/speech/openai.js";
import { fromQuery, SpeechRequestSchema } from "../../lib/speech/request.js";
import { parseInput } from "../../lib/validation.js";
import { voiceCatalogue } from "../../lib/voices/voice-list.js";
import { PLAYGROUND_HTML } from "./playground.js";
import { servePostLive } from "./post-live.js";
import { servePostStream } from "./post-stream.js";
import { StreamSpeech } from "./speech.js";
import { type StreamLimits, StreamSockets } from "./websockets.js";

export type { StreamLimits } from "./websockets.js";

export interface StreamApp {
  readonly router: Router;
  /** Serves POST /v1/stream straight on node:http; false for any other request, which the router serves. */
  serveStream(req: IncomingMessage, res: ServerResponse): boolean;
  /** Handles a WebSocket upgrade; false when the path is not ours. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Stops accepting WebSocket sessions and waits for cache writes under way. */
  close(): Promise<void>;
}

export function createStreamApp(config: Config, clients: Clients, log: Logger, limits: StreamLimits = {}): StreamApp {
  const auth = new ApiAuth({ keys: config.TTS_API_KEYS, tokenSecret: config.TTS_TOKEN_SECRET });
  const speech = new StreamSpeech(config, clients, log);
  const sockets = new StreamSockets({
    config,
    clients,
    auth,
    log,
    limits,
    lease: (provider, tenant) => speech.lease(provider, 1, tenant),
    live: {
      open: (options, tenant) => speech.openLive(options, tenant, limits.liveKeepAliveMs),
      records: speech.liveRecords,
    },
  });
  const authorize = (request: Request): string => auth.check(auth.credentialOf(request.headers, new URL(request.url)));

  const cors = new Cors(config.TTS_CORS_ORIGINS);
  const router = new Router(log, cors)
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
      const owner = auth.minter(request.headers);
      // The body is optional (`curl -X POST` sends none at all): no body means the default lifetime.
      const body = parseInput(TokenRequestSchema, (await readJson(request, 1024, { optional: true })) ?? {});
      return json(201, auth.mintToken(owner, body.ttlSeconds));
    })
    // POST /v1/stream has one implementation, on node:http (serveStream below); the router never sees it.
    .on("GET", "/v1/stream", (request, { signal }) => {
      const tenant = authorize(request);
      clients.nls.prewarm();
      const req = parseInput(SpeechRequestSchema, fromQuery(new URL(request.url).searchParams));
      return req.timestamps
        ? speech.timed(req, tenant, request.headers.get("accept"), signal)
        : speech.respond(req, tenant);
    })
    .on("GET", "/v1/live/:session", async (request, { params }) => {
      const tenant = authorize(request);
      const record = await speech.liveRecords.get(tenant, params.session!);
      if (!record)
        return json(404, { error: { code: "NotFound", message: "no live stream of this key has that session" } });
      return json(200, record);
    })
    .on("POST", "/v1/audio/speech", async (request) => {
      const tenant = authorize(request);
      clients.nls.prewarm();
      const body = parseInput(OpenAiSpeechSchema, await readJson(request));
      const req = fromOpenAi(body);
      return body.stream_format === "sse"
        ? speech.respondOpenAiEvents(req, tenant, "input")
        : speech.respond(req, tenant, "input");
    });

  return {
    router,
    serveStream(req, res) {
      if (req.method !== "POST") return false;
      const url = requestUrl(req);
      if (url?.pathname === "/v1/live") {
        void servePostLive(req, res, url, {
          auth,
          open: (options, tenant) => speech.openLive(options, tenant, limits.liveKeepAliveMs),
          records: speech.liveRecords,
          cors,
          log,
        }).catch((error: unknown) => {
          log.error("live request failed", { error });
          res.destroy();
        });
        return true;
      }
      if (url?.pathname !== "/v1/stream") return false;
      // An error boundary: nothing a request carries may throw out of the listener.
      void servePostStream(req, res, url, { auth, clients, speech, cors, log }).catch((error: unknown) => {
        log.error("stream request failed", { error });
        res.destroy();
      });
      return true;
    },
    upgrade(req, socket, head) {
      // An error boundary: nothing a client sends in an upgrade request may throw out of the server's listener.
      try {
        return sockets.upgrade(req, socket, head);
      } catch (error) {
        log.error("websocket upgrade failed", { error });
        if (socket.writable) socket.end(rawHttpError(500, "InternalError", "internal error"));
        else socket.destroy();
        return true;
      }
    },
    async close() {
      sockets.close();
      clients.nls.close();
      clients.cosyvoice?.close();
      await speech.drain();
    },
  };
}

/** A custom runtime behind an HTTP trigger: FC proxies raw HTTP (and WebSocket upgrades) to the server. */
export const EVENTS = { triggers: ["http"] as const, schema: undefined };
