/** FC entry of the speech function (nodejs20, HTTP trigger). */
import { cloudJobRuntime } from "../../lib/fc/cloud-runtime.js";
import { fcHttpHandler } from "../../lib/fc/http.js";
import type { Router } from "../../lib/http/router.js";
import { loadWebSocket } from "../../lib/providers/ws-loader.js";
import { createSpeechRouter, speechGate } from "./app.js";

let router: Router | undefined;
let gate: ((headers: Headers, url: URL) => void) | undefined;
export const handler = fcHttpHandler(
  () => (router ??= createSpeechRouter(cloudJobRuntime("speech"))),
  (headers, url) => {
    gate ??= speechGate(cloudJobRuntime("speech"));
    gate(headers, url);
  },
);

/**
 * FC Initializer (s.yaml instanceLifecycleConfig): parse the configuration, build the clients and load the WebSocket
 * client (short text is spoken over NLS's WebSocket) before the first event.
 */
export const initialize = async (): Promise<void> => {
  cloudJobRuntime("speech");
  await loadWebSocket();
};
