/** Local mount of the speech function: its FC HTTP handler behind the host's router. */
import { serveFcHttp } from "../../infra/local/fc-http.js";
import type { LocalFunction, LocalPlatform } from "../../infra/local/host.js";
import { fcHttpHandler } from "../../lib/fc/http.js";
import { createSpeechRouter } from "./app.js";

export function mount(p: LocalPlatform): LocalFunction {
  const handler = fcHttpHandler(() => createSpeechRouter(p.jobs()));
  return { paths: ["/v1/jobs", "/v1/speech", "/v1/batches"], request: serveFcHttp(handler) };
}
