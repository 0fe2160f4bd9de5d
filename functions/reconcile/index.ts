/** FC entry of the reconcile function (nodejs20, timer trigger). */
import { cloudCredentials, cloudJobRuntime } from "../_fc/cloud-runtime.js";
import { receivingCredentials } from "../_fc/context.js";
import { createReconcileHandler } from "./app.js";

export const handler = receivingCredentials(
  cloudCredentials,
  createReconcileHandler(() => cloudJobRuntime("reconcile")),
);

/** FC Initializer (s.yaml instanceLifecycleConfig): parse the configuration and build the clients before the first event. */
export const initialize = async (): Promise<void> => {
  cloudJobRuntime("reconcile");
};
