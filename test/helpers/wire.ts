/**
 * Raw protocol frames for tests that speak to a WebSocket as a client would (our proxies, the emulators), built by the
 * same builders the library's own clients use, with the defaults the tests share.
 */
import { clientCommand, runTask } from "../../lib/providers/dashscope/messages.js";
import { startSynthesis } from "../../lib/providers/nls/messages.js";

/** An NLS StartSynthesis frame (xiaoyun, PCM at 16 kHz unless `payload` says otherwise), as JSON text. */
export function nlsStart(
  text: string,
  opts: { taskId?: string; appkey?: string; payload?: Record<string, unknown> } = {},
): string {
  return JSON.stringify(
    startSynthesis(
      opts.appkey ?? "x",
      { voice: "xiaoyun", format: "pcm", sample_rate: 16000, text, ...opts.payload },
      opts.taskId,
    ),
  );
}

export { clientCommand as cosyCommand };

/** A CosyVoice run-task (longanyang, MP3 at 22.05 kHz, the seed's default volume, rate and pitch). */
export function cosyRunTask(taskId: string, parameters: Record<string, unknown> = {}, model = "cosyvoice-v3-flash") {
  return runTask(taskId, model, {
    text_type: "PlainText",
    voice: "longanyang",
    format: "mp3",
    sample_rate: 22050,
    volume: 50,
    rate: 1,
    pitch: 1,
    ...parameters,
  });
}
