/** Local mount of the callback function: its FC HTTP handler behind the host's router. */
import { serveFcHttp } from "../../infra/local/fc-http.js";
import type { LocalFunction, LocalPlatform } from "../../infra/local/host.js";
import { receivingCredentials } from "../_fc/context.js";
import { fcHttpHandler } from "../_fc/http.js";
import { callbackGate, createCallbackRouter } from "./app.js";

export function mount(p: LocalPlatform): LocalFunction {
  const handler = fcHttpHandler(
    () => createCallbackRouter(p.jobs()),
    (headers, url) => callbackGate(p.jobs().config.CALLBACK_SECRET!)(headers, url),
  );
  return {
    paths: ["/callbacks/"],
    request: serveFcHttp(
      receivingCredentials(() => p.credentials, handler),
      () => p.context(),
    ),
  };
}
