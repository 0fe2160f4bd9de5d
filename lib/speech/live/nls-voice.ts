/**
 * A live stream's NLS voice: each unit is one short-text synthesis (at most 300 characters) on the client's warm
 * connections, the next one started while the current one plays, so speech runs on without a gap at the seam. Each
 * piece's words (`enable_subtitle`, MetaInfo, before its audio) and its end are shifted by the measured length of the
 * audio before it. A unit said but not yet started when the stream stops is never sent.
 */
import { AudioMeter } from "../../audio/audio-meter.js";
import { InputError } from "../../errors.js";
import type { NlsSynthesisEvent, NlsSynthesizer } from "../../providers/nls/synthesizer.js";
import { countNlsChars } from "../../text/index.js";
import { findNlsVoice } from "../../voices/index.js";
import { LOOK_AHEAD_BYTES, ReadAhead } from "../pieces.js";
import { refuseCosyVoiceOptions } from "../request.js";
import type { LiveOptions } from "./live-request.js";
import type { LiveVoice, LiveVoiceEvent } from "./live-voice.js";

/** A live stream's voice when none is named: one NLS gives word timings for, so what was heard is known word by word. */
export const NLS_LIVE_VOICE = "siqi";

/** Pieces under way at once: the one playing and the next. */
const PIECES_AHEAD = 2;

export function openNlsVoice(nls: NlsSynthesizer, options: LiveOptions): LiveVoice {
  if (options.model !== undefined) throw new InputError("model", "applies to provider cosyvoice only");
  refuseCosyVoiceOptions(options, "nls");
  const voice = options.voice ?? NLS_LIVE_VOICE;
  if (findNlsVoice(voice) && !findNlsVoice(voice)!.timestamps)
    throw new InputError(
      "voice",
      `NLS gives no word timings for ${voice} (the voice table's timestamps column), so what a listener heard could not be told; choose one that has them, e.g. ${NLS_LIVE_VOICE}`,
    );
  const format = options.format === "mp3" ? "mp3" : "pcm";
  const base = {
    voice,
    format,
    sampleRate: options.sampleRate,
    volume: options.volume,
    speechRate: options.speechRate,
    pitchRate: options.pitchRate,
    enableSubtitle: true,
  } as const;
  // Checked now, with a stand-in text, so a bad voice or sample rate is refused before anything is spoken.
  const sampleRate = nls.prepare({ ...base, text: "好" }).sample_rate;
  const stop = new AbortController();
  const said: string[] = [];
  const ahead: ReadAhead<NlsSynthesisEvent>[] = [];
  let finished = false;
  let sent = 0;
  let wake: (() => void) | undefined;
  const start = (): void => {
    while (ahead.length < PIECES_AHEAD && said.length > 0 && !stop.signal.aborted) {
      const text = said.shift()!;
      sent += countNlsChars(text);
      const synthesis = nls.synthesize({ ...base, text }, { signal: stop.signal });
      ahead.push(
        new ReadAhead(synthesis[Symbol.asyncIterator](), LOOK_AHEAD_BYTES, (e) =>
          e.type === "audio" ? e.data.length : 64,
        ),
      );
    }
  };
  async function* relay(): AsyncGenerator<LiveVoiceEvent> {
    let offset = 0;
    try {
      for (;;) {
        start();
        const piece = ahead[0];
        if (!piece) {
          if (finished || stop.signal.aborted) return;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          continue;
        }
        const meter = new AudioMeter(format, sampleRate);
        let timed = false;
        for (let step = await piece.next(); !step.done; step = await piece.next()) {
          const e = step.value;
          if (e.type === "audio") {
            const data = meter.push(e.data);
            if (data && data.length > 0) yield { type: "audio", data, endMs: offset + meter.ms, timed };
            continue;
          }
          timed = true;
          const at = offset;
          yield {
            type: "words",
            words: e.subtitles.map((w) => ({ text: w.text, beginMs: w.begin_time + at, endMs: w.end_time + at })),
          };
        }
        ahead.shift();
        offset += meter.ms;
        yield { type: "unit-end", endMs: offset };
        yield { type: "timed" };
      }
    } catch (error) {
      if (!stop.signal.aborted) throw error;
    } finally {
      stop.abort(new Error("the live stream ended"));
      await Promise.all(ahead.map((p) => p.return().catch(() => undefined)));
    }
  }
  return {
    format,
    sampleRate,
    synthesis: { provider: "nls", voice },
    get charactersSent() {
      return sent;
    },
    say(unit) {
      said.push(unit);
      start();
      wake?.();
    },
    finish() {
      finished = true;
      wake?.();
    },
    stop() {
      stop.abort(new Error("the live stream stopped"));
      wake?.();
    },
    events: relay(),
  };
}
