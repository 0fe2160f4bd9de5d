/** Local mount of the store function: its handler, invoked with events by the host. */
import type { LocalFunction, LocalPlatform } from "../../infra/local/host.js";
import { createStoreHandler } from "./app.js";

export function mount(p: LocalPlatform): LocalFunction {
  const handler = createStoreHandler(() => p.jobs());
  return { invoke: (event) => handler(Buffer.from(JSON.stringify(event))) };
}
