/** Local mount of the store function: its handler, invoked with events by the host. */
import type { LocalFunction, LocalPlatform } from "../../infra/local/host.js";
import { receivingCredentials } from "../_fc/context.js";
import { createStoreHandler } from "./app.js";

export function mount(p: LocalPlatform): LocalFunction {
  const handler = receivingCredentials(
    () => p.credentials,
    createStoreHandler(() => p.jobs()),
  );
  return { invoke: (event, context) => handler(Buffer.from(JSON.stringify(event)), context) };
}
