/** FC entry of the submit function (nodejs20, OSS trigger on the input prefix). */
import { cloudJobRuntime } from "../../lib/fc/cloud-runtime.js";
import { createSubmitHandler } from "./app.js";

export const handler = createSubmitHandler(() => cloudJobRuntime("submit"));

/** FC Initializer (s.yaml instanceLifecycleConfig): parse the configuration and build the clients before the first event. */
export const initialize = async (): Promise<void> => {
  cloudJobRuntime("submit");
};
