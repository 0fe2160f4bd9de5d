/** FC entry of the callback function (nodejs20, HTTP trigger). */
import { cloudJobRuntime } from "../../lib/fc/cloud-runtime.js";
import { fcHttpHandler } from "../../lib/fc/http.js";
import type { Router } from "../../lib/http/router.js";
import { createCallbackRouter } from "./app.js";

let router: Router | undefined;
export const handler = fcHttpHandler(() => (router ??= createCallbackRouter(cloudJobRuntime("callback"))));
