/** FC custom-runtime entry: listen on 0.0.0.0:$FC_CUSTOM_LISTEN_PORT (FC cannot reach 127.0.0.1; facts §2). */
import { config } from "../../lib/config.js";
import { ConfigError } from "../../lib/errors.js";
import { createLogger } from "../../lib/log.js";
import { createStreamServer } from "./server.js";

try {
  const cfg = config();
  if (cfg.TTS_API_KEYS.length === 0)
    throw new ConfigError([
      "TTS_API_KEYS: missing; expected comma-separated API keys for the stream function's clients",
    ]);
  const log = createLogger({ level: cfg.LOG_LEVEL, base: { function: "stream" } });
  const port = Number(process.env.FC_CUSTOM_LISTEN_PORT ?? 9000);
  const { server } = createStreamServer(cfg, log);
  server.listen(port, "0.0.0.0", () => log.info("listening", { port: (server.address() as { port: number }).port }));
} catch (error) {
  // A bad configuration ends the start with one readable line (FC shows it in the instance log), not a stack.
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
