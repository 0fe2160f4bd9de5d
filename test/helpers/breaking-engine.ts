/** A speech engine that fails on one text: an emulator's own fault, not one a seed describes. */

import type { SpeechSource } from "../../infra/local/audio/engine.js";
import { FastEngine } from "../../infra/local/audio/fast-engine.js";

/** Synthesizes as the fast engine does, except a text containing `trigger`, which throws "engine crashed". */
export function breakingEngine(trigger: string): SpeechSource {
  const fast = new FastEngine();
  return {
    synthesize: async (req) => {
      if (req.text.includes(trigger)) throw new Error("engine crashed");
      return fast.synthesize(req);
    },
    close: async () => {},
  };
}
