/** FC entry of the callback function (nodejs20, HTTP trigger). */

import type { Router } from "../../lib/http/router.js";
import { cloudCredentials, cloudJobRuntime } from "../_fc/cloud-runtime.js";
import { receivingCredentials } from "../_fc/context.js";
import { fcHttpHandler } from "../_fc/http.js";
import { callbackGate, createCallbackRouter } from "./app.js";

let router: Router | undefined;
export const handler = receivingCredentials(
  cloudCredentials,
  fcHttpHandler(
    () => (router ??= createCallbackRouter(cloudJobRuntime("callback"))),
    (headers, url) => callbackGate(cloudJobRuntime("callback").config.CALLBACK_SECRET!)(headers, url),
  ),
);

/** FC Initializer (s.yaml instanceLifecycleConfig): parse the configuration and build the clients before the first event. */
export const initialize = async (): Promise<void> => {
  cloudJobRuntime("callback");
};
