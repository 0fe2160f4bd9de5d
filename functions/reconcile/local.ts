/** Local mount of the reconcile function: its handler, invoked with events by the host. */
import type { LocalFunction, LocalPlatform } from "../../infra/local/host.js";
import { receivingCredentials } from "../_fc/context.js";
import { createReconcileHandler } from "./app.js";

export function mount(p: LocalPlatform): LocalFunction {
  const handler = receivingCredentials(
    () => p.credentials,
    createReconcileHandler(() => p.jobs()),
  );
  return { invoke: (event, context) => handler(Buffer.from(JSON.stringify(event)), context) };
}
