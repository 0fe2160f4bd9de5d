/**
 * A minimal router over WHATWG Request/Response, so an HTTP function is written once and served by FC's custom
 * runtime, FC's HTTP trigger adapter or the local host alike (the Hono pattern, without the dependency).
 */
import { randomUUID } from "node:crypto";
import { InputError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Cors } from "./cors.js";
import { errorResponse, json } from "./response.js";

export interface RequestContext {
  readonly requestId: string;
  readonly params: Readonly<Record<string, string>>;
  readonly log: Logger;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

export type Handler = (request: Request, ctx: RequestContext) => Promise<Response> | Response;

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly keys: readonly string[];
  readonly handler: Handler;
}

export class Router {
  readonly #routes: Route[] = [];

  constructor(
    readonly log: Logger,
    /** Cross-origin access for named browser apps; none by default. */
    private readonly cors?: Cors,
  ) {}

  /** `path` may hold `:name` segments, e.g. `/v1/jobs/:id`. */
  on(method: string | readonly string[], path: string, handler: Handler): this {
    const keys: string[] = [];
    const pattern = new RegExp(
      `^${path.replace(/:([a-zA-Z]+)/g, (_m, k: string) => {
        keys.push(k);
        return "([^/]+)";
      })}$`,
    );
    for (const m of typeof method === "string" ? [method] : method)
      this.#routes.push({ method: m, pattern, keys, handler });
    return this;
  }

  async handle(request: Request, opts: { signal?: AbortSignal; requestId?: string } = {}): Promise<Response> {
    const response = await this.#route(request, opts);
    for (const [name, value] of Object.entries(this.cors?.headers(request.headers.get("origin")) ?? {}))
      response.headers.set(name, value);
    return response;
  }

  async #route(request: Request, opts: { signal?: AbortSignal; requestId?: string }): Promise<Response> {
    const preflight = this.cors?.preflight(request.method, request.headers);
    if (preflight) return preflight;
    const requestId = opts.requestId ?? request.headers.get("x-fc-request-id") ?? randomUUID();
    const log = this.log.child({ requestId });
    const path = new URL(request.url).pathname;
    const matches = this.#routes.filter((r) => r.pattern.test(path));
    const route = matches.find((r) => r.method === request.method || (r.method === "GET" && request.method === "HEAD"));
    if (!route) {
      return matches.length > 0
        ? json(
            405,
            { error: { code: "MethodNotAllowed", message: `${request.method} is not allowed on ${path}` } },
            { allow: [...new Set(matches.map((r) => r.method))].join(", ") },
          )
        : json(404, { error: { code: "NotFound", message: `no route for ${path}` } });
    }
    const values = route.pattern.exec(path)!.slice(1);
    try {
      const params = Object.fromEntries(route.keys.map((k, i) => [k, decodeParam(k, values[i]!)]));
      const response = await route.handler(request, {
        requestId,
        params,
        log,
        signal: opts.signal ?? new AbortController().signal,
      });
      response.headers.set("x-request-id", requestId);
      return response;
    } catch (error) {
      const response = errorResponse(error, log);
      response.headers.set("x-request-id", requestId);
      return response;
    }
  }
}

/** A path segment decoded; malformed percent-encoding (`%ZZ`) is the client's error, never a 5xx. */
function decodeParam(name: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new InputError(name, "is not valid percent-encoding", { code: "BadRequest" });
  }
}
