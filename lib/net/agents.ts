/**
 * The kept-alive connection pools every outbound HTTP client of a function shares (OSS, POP RPC, NLS long-text, audio
 * downloads): one per protocol, so a warm instance reuses its TCP and TLS connections across requests and clients.
 */
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/** The pool and the request function for a URL's protocol. */
export function transportFor(url: URL): { agent: HttpAgent; request: typeof httpRequest } {
  return url.protocol === "https:"
    ? { agent: agents.https, request: httpsRequest }
    : { agent: agents.http, request: httpRequest };
}
