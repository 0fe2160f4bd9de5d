/** FC entry of the reconcile function (nodejs20, timer trigger). */
import { cloudJobRuntime } from "../../lib/fc/cloud-runtime.js";
import { createReconcileHandler } from "./app.js";

export const handler = createReconcileHandler(() => cloudJobRuntime("reconcile"));
