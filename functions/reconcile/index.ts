/** FC entry of the reconcile function (nodejs20, timer trigger). */
import { cloudJobRuntime } from "../../lib/fc/cloud-runtime.js";
import { createReconcileHandler } from "./app.js";

export const handler = createReconcileHandler(() => cloudJobRuntime("reconcile"));

/** FC Initializer (s.yaml instanceLifecycleConfig): parse the configuration and build the clients before the first event. */
export const initialize = async (): Promise<void> => {
  cloudJobRuntime("reconcile");
};
