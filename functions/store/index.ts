/** FC entry of the store function (nodejs20, invoked asynchronously by callback and reconcile). */
import { cloudCredentials, cloudJobRuntime } from "../_fc/cloud-runtime.js";
import { receivingCredentials } from "../_fc/context.js";
import { createStoreHandler } from "./app.js";

export const handler = receivingCredentials(
  cloudCredentials,
  createStoreHandler(() => cloudJobRuntime("store")),
);

/** FC Initializer (s.yaml instanceLifecycleConfig): parse the configuration and build the clients before the first event. */
export const initialize = async (): Promise<void> => {
  cloudJobRuntime("store");
};
