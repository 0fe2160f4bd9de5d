/** FC entry of the speech function (nodejs20, HTTP trigger). */

import type { Router } from "../../lib/http/router.js";
import { cloudCredentials, cloudJobRuntime } from "../_fc/cloud-runtime.js";
import { receivingCredentials } from "../_fc/context.js";
import { fcHttpHandler } from "../_fc/http.js";
import { createSpeechRouter, speechGate } from "./app.js";

let router: Router | undefined;
let gate: ((headers: Headers, url: URL) => void) | undefined;
export const handler = receivingCredentials(
  cloudCredentials,
  fcHttpHandler(
    () => (router ??= createSpeechRouter(cloudJobRuntime("speech"))),
    (headers, url) => {
      gate ??= speechGate(cloudJobRuntime("speech"));
      gate(headers, url);
    },
  ),
);

/**
 * FC Initializer (s.yaml instanceLifecycleConfig): parse the configuration and build the clients before the first
 * event. The WebSocket client is not loaded here: only short text (POST /v1/speech) opens NLS's WebSocket, and it loads
 * ws on first use (about 10 ms). A cold instance's first request waits for the initializer either way, so an instance
 * that serves the job API never pays for ws, and one that speaks short text pays the same as before.
 */
export const initialize = async (): Promise<void> => {
  cloudJobRuntime("speech");
};
