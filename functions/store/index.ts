/** FC entry of the store function (nodejs20, invoked asynchronously by callback and reconcile). */
import { cloudJobRuntime } from "../../lib/fc/cloud-runtime.js";
import { createStoreHandler } from "./app.js";

export const handler = createStoreHandler(() => cloudJobRuntime("store"));

/** FC Initializer (s.yaml instanceLifecycleConfig): parse the configuration and build the clients before the first event. */
export const initialize = async (): Promise<void> => {
  cloudJobRuntime("store");
};
