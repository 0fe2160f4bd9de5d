/**
 * A live stream's CosyVoice voice: one duplex task for the whole stream (up to 200,000 characters), each unit a
 * continue-task as it comes, and a flush after a unit that does not end a sentence (CosyVoice otherwise holds it for
 * its sentence's end). Words come at each sentence's end, after its audio; word times that start again from 0 are the
 * sentence's own and are shifted by the audio before the sentence.
 */
import { AudioMeter } from "../../audio/audio-meter.js";
import type { CosyVoiceSynthesizer } from "../../providers/dashscope/cosyvoice.js";
import type { CosyVoiceDuplexTask } from "../../providers/dashscope/cosyvoice-duplex.js";
import { countCosyVoiceChars } from "../../text/index.js";
import { multiplierFromRate } from "../../text/speech-rate.js";
import type { LiveOptions } from "./live-request.js";
import type { LiveVoice, LiveVoiceEvent } from "./live-voice.js";

/** Checks the options (model, voice, parameters) now; `open` starts the task. */
export function planCosyVoiceVoice(
  cosyvoice: CosyVoiceSynthesizer,
  options: LiveOptions,
  keepAliveMs?: number,
): { readonly sampleRate: number; open(): Promise<LiveVoice> } {
  const format = options.format === "mp3" ? "mp3" : "pcm";
  const plan = cosyvoice.prepareDuplex({
    model: options.model,
    voice: options.voice,
    format,
    sampleRate: options.sampleRate as 22050 | undefined,
    volume: options.volume,
    rate: options.speechRate === undefined ? undefined : multiplierFromRate(options.speechRate),
    pitch: options.pitchRate === undefined ? undefined : multiplierFromRate(options.pitchRate),
    wordTimestamps: true,
    seed: options.seed,
    languageHints: options.languageHints,
    instruction: options.instruction,
  });
  return {
    sampleRate: plan.parameters.sample_rate,
    open: async () => openVoice(await cosyvoice.openDuplex(plan, { keepAliveMs }), format),
  };
}

function openVoice(task: CosyVoiceDuplexTask, format: "mp3" | "pcm"): LiveVoice {
  const stop = new AbortController();
  let sent = 0;
  return {
    format,
    sampleRate: task.sampleRate,
    synthesis: { provider: "cosyvoice", model: task.model, voice: task.voice },
    get charactersSent() {
      return sent;
    },
    say(unit, now) {
      sent += countCosyVoiceChars(unit);
      task.say(unit);
      if (now) task.flush();
    },
    finish: () => task.finish(),
    stop: () => {
      stop.abort(new Error("the live stream stopped"));
      task.close();
    },
    events: relay(task, format, stop.signal),
  };
}

async function* relay(
  task: CosyVoiceDuplexTask,
  format: "mp3" | "pcm",
  stopped: AbortSignal,
): AsyncGenerator<LiveVoiceEvent> {
  const meter = new AudioMeter(format, task.sampleRate);
  let sentenceStart: number | undefined;
  try {
    for await (const e of task.events()) {
      if (e.type === "audio") {
        sentenceStart ??= meter.ms;
        const data = meter.push(e.data);
        if (data && data.length > 0) yield { type: "audio", data, endMs: meter.ms, timed: false };
        continue;
      }
      const start = sentenceStart ?? meter.ms;
      sentenceStart = undefined;
      const shift = e.words.length > 0 && e.words[0]!.begin_time < start - 50 ? start : 0;
      if (e.words.length > 0)
        yield {
          type: "words",
          words: e.words.map((w) => ({ text: w.text, beginMs: w.begin_time + shift, endMs: w.end_time + shift })),
        };
      yield { type: "timed" };
    }
  } catch (error) {
    if (!stopped.aborted) throw error;
  } finally {
    task.close();
  }
}
