/** FC entry of the submit function (nodejs20, OSS trigger on the input prefix). */
import { cloudCredentials, cloudJobRuntime } from "../_fc/cloud-runtime.js";
import { receivingCredentials } from "../_fc/context.js";
import { createSubmitHandler } from "./app.js";

export const handler = receivingCredentials(
  cloudCredentials,
  createSubmitHandler(() => cloudJobRuntime("submit")),
);

/** FC Initializer (s.yaml instanceLifecycleConfig): parse the configuration and build the clients before the first event. */
export const initialize = async (): Promise<void> => {
  cloudJobRuntime("submit");
};
