/**
 * Cross-origin access for the browser apps a deployment names (TTS_CORS_ORIGINS): a preflight from one of them is
 * answered, and its responses say it may read them. Any other origin gets no CORS header at all, so the browser keeps
 * the response from it; nothing is refused on the server for its origin (a non-browser client sends none).
 */

/** The methods and request headers our endpoints take from a browser. */
const ALLOW_METHODS = "GET, POST, OPTIONS";
const ALLOW_HEADERS = "authorization, content-type, x-nls-token, idempotency-key";
/** What a script may read of a response: the request id to quote, whether the cache served it, the timed format. */
const EXPOSE_HEADERS = "x-request-id, x-cache, x-audio-format, retry-after";

export class Cors {
  readonly #origins: ReadonlySet<string>;

  /** `origins`: exact origins (`https://app.example.com`), or `*` for any. Empty: no cross-origin access. */
  constructor(origins: readonly string[]) {
    this.#origins = new Set(origins);
  }

  #allows(origin: string | null | undefined): origin is string {
    return Boolean(origin) && (this.#origins.has("*") || this.#origins.has(origin!));
  }

  /** The headers a response to a request from `origin` carries: none for an origin not allowed. */
  headers(origin: string | null | undefined): Record<string, string> {
    if (!this.#allows(origin)) return {};
    return { "access-control-allow-origin": origin, "access-control-expose-headers": EXPOSE_HEADERS, vary: "Origin" };
  }

  /**
   * The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`), or undefined for any other request.
   * An origin not allowed gets 204 without CORS headers: the browser then refuses the request it was asking about.
   */
  preflight(method: string, headers: Headers): Response | undefined {
    if (method !== "OPTIONS" || !headers.get("access-control-request-method")) return undefined;
    const origin = headers.get("origin");
    const allowed: Record<string, string> = this.#allows(origin)
      ? {
          "access-control-allow-origin": origin,
          "access-control-allow-methods": ALLOW_METHODS,
          "access-control-allow-headers": ALLOW_HEADERS,
          "access-control-max-age": "600",
        }
      : {};
    return new Response(null, { status: 204, headers: { ...allowed, vary: "Origin" } });
  }
}
