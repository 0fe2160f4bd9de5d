/**
 * The stream function's HTTP and WebSocket surface. Thin: each route parses its input with a schema, calls lib and
 * shapes the response; auth is checked before anything else touches an upstream.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { ApiAuth } from "../../lib/auth.js";
import type { Clients } from "../../lib/clients.js";
import type { Config } from "../../lib/config.js";
import type { Logger } from "../../lib/log.js";
import { json, readJson, streamOf } from "../../lib/http/response.js";
import { Router } from "../../lib/http/router.js";
import { SpeechCache } from "../../lib/speech/cache.js";
import { serveCosyVoiceProxy } from "../../lib/speech/cosyvoice-proxy.js";
import { serveNlsProxy } from "../../lib/speech/nls-proxy.js";
import { OpenAiSpeechSchema, fromOpenAi } from "../../lib/speech/openai.js";
import { type SpeechRequest, SpeechRequestSchema, fromQuery } from "../../lib/speech/request.js";
import { type OpenedSpeech, openShortSpeech } from "../../lib/speech/short.js";
import { parseInput } from "../../lib/validation.js";
import { NLS_VOICES } from "../../lib/voices/index.js";
import { PLAYGROUND_HTML } from "./playground.js";

export interface StreamApp {
  readonly router: Router;
  /** Handles a WebSocket upgrade; false when the path is not ours. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Stops accepting WebSocket sessions and waits for cache writes under way. */
  close(): Promise<void>;
}

const EXT_TYPES: Record<string, string> = { mp3: "audio/mpeg", wav: "audio/wav", pcm: "application/octet-stream" };

export function createStreamApp(config: Config, clients: Clients, log: Logger): StreamApp {
  const auth = new ApiAuth({ keys: config.TTS_API_KEYS, tokenSecret: config.TTS_TOKEN_SECRET });
  const cache = config.TTS_CACHE ? new SpeechCache(clients.storage, log, (key) => EXT_TYPES[key.split(".").pop() ?? ""] ?? "application/octet-stream") : undefined;
  const authorize = (request: Request): void => auth.check(auth.credentialOf(request.headers, new URL(request.url)));
  const speak = async (req: SpeechRequest): Promise<Response> => respond(await openShortSpeech(req, { nls: clients.nls, cosyvoice: clients.cosyvoice, minimax: clients.minimax, cache }));

  const router = new Router(log)
    .on("GET", "/", () => new Response(PLAYGROUND_HTML, { headers: { "content-type": "text/html; charset=utf-8" } }))
    .on("GET", "/healthz", () => json(200, { ok: true }))
    .on("GET", "/v1/voices", () => json(200, { voices: NLS_VOICES.map(({ seeds: _s, ...v }) => ({ provider: "nls", ...v })) }))
    .on("POST", "/v1/tokens", async (request) => {
      // Only a real key may mint: a token cannot extend itself.
      const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
      if (!bearer || !auth.isKey(bearer)) auth.check(undefined);
      const body = request.headers.get("content-length") === "0" || !request.body ? {} : ((await readJson(request)) as { ttlSeconds?: unknown });
      const ttl = typeof body === "object" && body && typeof body.ttlSeconds === "number" ? body.ttlSeconds : 300;
      return json(201, auth.mintToken(ttl));
    })
    .on("POST", "/v1/stream", async (request) => {
      authorize(request);
      return speak(parseInput(SpeechRequestSchema, await readJson(request)));
    })
    .on("GET", "/v1/stream", (request) => {
      authorize(request);
      return speak(parseInput(SpeechRequestSchema, fromQuery(new URL(request.url).searchParams)));
    })
    .on("POST", "/v1/audio/speech", async (request) => {
      authorize(request);
      return speak(fromOpenAi(parseInput(OpenAiSpeechSchema, await readJson(request))));
    });

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  return {
    router,
    upgrade(req, socket, head) {
      const url = new URL(req.url ?? "/", "http://local");
      const path = url.pathname.replace(/\/$/, "");
      if (path !== "/ws/v1" && path !== "/api-ws/v1/inference") return false;
      const headers = new Headers(Object.entries(req.headers).flatMap(([k, v]) => (typeof v === "string" ? [[k, v] as [string, string]] : [])));
      const credential = auth.credentialOf(headers, url);
      const authorized = Boolean(credential && (auth.isKey(credential) || auth.isToken(credential)));
      if (path === "/ws/v1") {
        // The NLS SDK only learns of a refusal from a TaskFailed frame, so the proxy answers it after the upgrade.
        wss.handleUpgrade(req, socket, head, (ws) => serveNlsProxy(ws, { nls: clients.nls, log: log.child({ endpoint: path }), authorized }));
        return true;
      }
      if (!authorized) {
        // DashScope refuses a bad key at the upgrade with 401; so do we, before any upstream connection.
        const body = JSON.stringify({ error: { code: "Unauthorized", message: "missing or invalid API key or token" } });
        socket.end(`HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
        return true;
      }
      const upstream = config.DASHSCOPE_API_KEY ? { url: config.DASHSCOPE_WS_URL, apiKey: config.DASHSCOPE_API_KEY, workspace: config.DASHSCOPE_WORKSPACE } : undefined;
      wss.handleUpgrade(req, socket, head, (ws) => serveCosyVoiceProxy(ws, { upstream, extraVoices: config.COSYVOICE_VOICES, log: log.child({ endpoint: path }) }));
      return true;
    },
    async close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await cache?.drain();
    },
  };
}

function respond(speech: OpenedSpeech): Response {
  const iterator = speech.body[Symbol.asyncIterator]();
  return new Response(streamOf(iterator), {
    headers: { "content-type": speech.contentType, "x-cache": speech.cache, "cache-control": "no-store", "x-content-type-options": "nosniff" },
  });
}

/** A custom runtime behind an HTTP trigger: FC proxies raw HTTP (and WebSocket upgrades) to the server. */
export const EVENTS = { triggers: ["http"] as const, schema: undefined };
