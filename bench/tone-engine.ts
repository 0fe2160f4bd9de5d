/**
 * A speech source for benchmarks of the plumbing: a 440 Hz tone of 60 ms per character, as raw PCM, made in
 * microseconds, so what is measured is the proxy and the sockets, not espeak-ng.
 */
import type { SpeechRequest, SpeechResult, SpeechSource } from "../infra/local/audio/engine.js";
import { timings } from "../infra/local/audio/engine.js";
import { spokenText } from "../lib/text/index.js";

export class ToneEngine implements SpeechSource {
  async synthesize(req: SpeechRequest): Promise<SpeechResult> {
    if (req.format !== "pcm") throw new Error("the tone engine makes raw pcm only");
    const text = spokenText(req.text);
    const durationMs = Array.from(text).length * 60;
    const samples = Math.round((durationMs / 1000) * req.sampleRate);
    const pcm = Buffer.alloc(samples * 2);
    for (let i = 0; i < samples; i++) pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / req.sampleRate)), i * 2);
    return { audio: pcm, durationMs, ...timings(text, durationMs) };
  }

  async close(): Promise<void> {}
}
