/** Local mount of the speech function: its FC HTTP handler behind the host's router. */
import { serveFcHttp } from "../../infra/local/fc-http.js";
import type { LocalFunction, LocalPlatform } from "../../infra/local/host.js";
import type { Router } from "../../lib/http/router.js";
import { receivingCredentials } from "../_fc/context.js";
import { fcHttpHandler } from "../_fc/http.js";
import { createSpeechRouter, speechGate } from "./app.js";

export function mount(p: LocalPlatform): LocalFunction {
  let router: Router | undefined;
  let gate: ((headers: Headers, url: URL) => void) | undefined;
  const handler = fcHttpHandler(
    () => (router ??= createSpeechRouter(p.jobs())),
    (headers, url) => {
      gate ??= speechGate(p.jobs());
      gate(headers, url);
    },
  );
  return {
    paths: ["/v1/jobs", "/v1/books", "/v1/quotes", "/v1/speech", "/v1/batches"],
    request: serveFcHttp(
      receivingCredentials(() => p.credentials, handler),
      () => p.context(),
    ),
  };
}
