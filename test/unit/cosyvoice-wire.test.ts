/**
 * The CosyVoice emulator's own reading of DashScope's documents against the client's schemas: the commands the client
 * sends pass it, and what the documents forbid is refused by both.
 */
import { describe, expect, it } from "vitest";
import { checkContinueTask, checkRunTask, isFinishTask } from "../../infra/local/dashscope/cosyvoice-wire.js";
import { ContinueTaskSchema, FinishTaskSchema, RunTaskSchema } from "../../lib/providers/dashscope/messages.js";

const header = (action: string) => ({ action, task_id: "t-1", streaming: "duplex" });
const run = (parameters: Record<string, unknown>) => ({
  header: header("run-task"),
  payload: {
    task_group: "audio",
    task: "tts",
    function: "SpeechSynthesizer",
    model: "cosyvoice-v3-flash",
    parameters: { text_type: "PlainText", voice: "longanyang", format: "mp3", sample_rate: 22050, ...parameters },
    input: {},
  },
});

describe("the CosyVoice emulator's wire check (written on its own)", () => {
  it.each([
    ["the documented example", {}],
    ["the limits", { volume: 100, rate: 0.5, pitch: 2, sample_rate: 48000, format: "wav", enable_ssml: true }],
    ["word timestamps", { word_timestamp_enabled: true, format: "pcm", sample_rate: 8000 }],
  ])("accepts run-task: %s", (_name, parameters) => {
    expect(RunTaskSchema.safeParse(run(parameters)).success).toBe(true);
    expect(checkRunTask(run(parameters))).not.toHaveProperty("problem");
  });

  it.each([
    ["a 32 kHz sample rate", { sample_rate: 32000 }, "parameters.sample_rate"],
    ["rate 3", { rate: 3 }, "parameters.rate"],
    ["volume 101", { volume: 101 }, "parameters.volume"],
    ["an aac format", { format: "aac" }, "parameters.format"],
    ["no voice", { voice: "" }, "parameters.voice"],
  ])("refuses run-task with %s, as the client does", (_name, parameters, field) => {
    expect(RunTaskSchema.safeParse(run(parameters)).success).toBe(false);
    expect((checkRunTask(run(parameters)) as { problem?: string }).problem?.startsWith(`${field}:`)).toBe(true);
  });

  it("reads continue-task's text or flush, and finish-task, as the client sends them", () => {
    const text = { header: header("continue-task"), payload: { input: { text: "床前明月光，" } } };
    const flush = { header: header("continue-task"), payload: { input: { flush: true } } };
    const empty = { header: header("continue-task"), payload: { input: {} } };
    const finish = { header: header("finish-task"), payload: { input: {} } };
    expect(ContinueTaskSchema.safeParse(text).success && ContinueTaskSchema.safeParse(flush).success).toBe(true);
    expect(checkContinueTask(text)).toEqual({ text: "床前明月光，" });
    expect(checkContinueTask(flush)).toEqual({});
    expect(ContinueTaskSchema.safeParse(empty).success).toBe(false);
    expect(checkContinueTask(empty)).toBeUndefined();
    expect(FinishTaskSchema.safeParse(finish).success && isFinishTask(finish)).toBe(true);
    expect(isFinishTask({ ...finish, header: { ...finish.header, streaming: "out" } })).toBe(false);
  });
});
