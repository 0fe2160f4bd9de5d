/**
 * The stream function's WebSocket endpoints: NLS's protocol on /ws/v1 and DashScope's on /api-ws/v1/inference, each
 * authenticated at the upgrade, before any upstream connection.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import type { ApiAuth } from "../../lib/auth.js";
import type { Lease } from "../../lib/budget/account-budget.js";
import type { Clients } from "../../lib/clients.js";
import type { Config } from "../../lib/config.js";
import { headersOf, rawHttpError, requestUrl } from "../../lib/http/boundary.js";
import type { Logger } from "../../lib/log.js";
import type { StreamProviderName } from "../../lib/provider-registry.js";
import { serveCosyVoiceProxy } from "../../lib/speech/cosyvoice-proxy.js";
import type { LiveRecords } from "../../lib/speech/live/live-records.js";
import type { LiveOptions } from "../../lib/speech/live/live-request.js";
import { serveLiveSocket } from "../../lib/speech/live/live-socket.js";
import type { OpenedLive } from "../../lib/speech/live/open-live.js";
import { serveNlsProxy } from "../../lib/speech/nls-proxy.js";

/** Time limits of the WebSocket endpoints (tests shorten them). */
export interface StreamLimits {
  /** How long a client may send nothing while no task runs. */
  readonly idleTimeoutMs?: number;
  /** How long audio may wait for a client that does not read before the session is closed. */
  readonly stallTimeoutMs?: number;
  /** How long a live CosyVoice task may be quiet before a flush keeps it alive (DashScope allows 23 s). */
  readonly liveKeepAliveMs?: number;
}

export class StreamSockets {
  // Frame limits from the protocols: an NLS StartSynthesis carries at most 300 characters of text, so 64 KiB holds it
  // with SSML markup and JSON escapes; a CosyVoice continue-task carries at most 20,000 characters, up to 120 KB as
  // JSON \u escapes. An unauthenticated NLS client gets 8 KiB: enough for the header the refusal names, never a large
  // frame read for nobody (ws refuses a larger frame from its length, before buffering).
  readonly #servers = {
    nls: new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 }),
    nlsRefused: new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 8 * 1024 }),
    cosyvoice: new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 256 * 1024 }),
    // A live text message carries at most 20,000 characters (LIVE_FRAGMENT_LIMIT), up to 120 KB as \u escapes.
    live: new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 128 * 1024 }),
  };

  constructor(
    private readonly deps: {
      readonly config: Config;
      readonly clients: Clients;
      readonly auth: ApiAuth;
      readonly log: Logger;
      readonly limits: StreamLimits;
      /** A task's lease from the account's budget (AppError 429 past it). */
      readonly lease: (provider: StreamProviderName, tenant: string) => Promise<Lease>;
      /** Live streams: how one opens for a tenant, and where their records go. */
      readonly live: {
        readonly open: (options: LiveOptions, tenant: string) => Promise<OpenedLive>;
        readonly records: LiveRecords;
      };
    },
  ) {}

  /** Takes an upgrade request; false when the path is not one of ours. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const { config, clients, auth, log, limits, lease } = this.deps;
    const url = requestUrl(req);
    if (!url) {
      socket.end(rawHttpError(400, "BadRequest", "the request target is not a path or an absolute http(s) URL"));
      return true;
    }
    const path = url.pathname.replace(/\/$/, "");
    if (path !== "/ws/v1" && path !== "/api-ws/v1/inference" && path !== "/v1/live") return false;
    const credential = auth.credentialOf(headersOf(req), url);
    const owner = credential ? auth.ownerOf(credential) : undefined;
    if (path === "/ws/v1") {
      // The NLS SDK only learns of a refusal from a TaskFailed frame, so the proxy answers it after the upgrade.
      const wss = owner ? this.#servers.nls : this.#servers.nlsRefused;
      wss.handleUpgrade(req, socket, head, (ws) =>
        serveNlsProxy(ws, {
          nls: clients.nls,
          log: log.child({ endpoint: path }),
          authorized: Boolean(owner),
          lease: () => lease("nls", owner!),
          aigcProducer: config.AIGC_PROVIDER_NAME,
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
    if (path === "/v1/live") {
      this.#servers.live.handleUpgrade(req, socket, head, (ws) =>
        serveLiveSocket(ws, {
          open: (options) => this.deps.live.open(options, owner),
          owner,
          records: this.deps.live.records,
          log: log.child({ endpoint: path }),
          idleTimeoutMs: limits.idleTimeoutMs,
        }),
      );
      return true;
    }
    const upstream = config.DASHSCOPE_API_KEY
      ? { url: config.DASHSCOPE_WS_URL, apiKey: config.DASHSCOPE_API_KEY, workspace: config.DASHSCOPE_WORKSPACE }
      : undefined;
    this.#servers.cosyvoice.handleUpgrade(req, socket, head, (ws) =>
      serveCosyVoiceProxy(ws, {
        upstream,
        extraVoices: config.COSYVOICE_VOICES,
        log: log.child({ endpoint: path }),
        lease: () => lease("cosyvoice", owner),
        aigcProducer: config.AIGC_PROVIDER_NAME,
        ...limits,
      }),
    );
    return true;
  }

  /** Ends every session and stops accepting new ones. */
  close(): void {
    for (const wss of Object.values(this.#servers)) {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    }
  }
}
