/** FC entry of the submit function (nodejs20, OSS trigger on the input prefix). */
import { cloudJobRuntime } from "../../lib/fc/cloud-runtime.js";
import { createSubmitHandler } from "./app.js";

export const handler = createSubmitHandler(() => cloudJobRuntime("submit"));
