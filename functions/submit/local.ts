/** Local mount of the submit function: its handler, invoked with events by the host. */
import type { LocalFunction, LocalPlatform } from "../../infra/local/host.js";
import { receivingCredentials } from "../_fc/context.js";
import { createSubmitHandler } from "./app.js";

export function mount(p: LocalPlatform): LocalFunction {
  const handler = receivingCredentials(
    () => p.credentials,
    createSubmitHandler(() => p.jobs()),
  );
  return { invoke: (event, context) => handler(Buffer.from(JSON.stringify(event)), context) };
}
