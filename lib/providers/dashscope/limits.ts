/** CosyVoice's text limits (seed 001): per continue-task and per task, with a Han character counted twice. */
export const COSYVOICE_MESSAGE_LIMIT = 20_000;
export const COSYVOICE_TASK_LIMIT = 200_000;
/**
 * The longest DashScope waits between a task's client messages before the connection times out (Model Studio,
 * "CosyVoice client events", continue-task). A live task quiet for longer is kept alive by a flush.
 */
export const COSYVOICE_SEND_INTERVAL_LIMIT_MS = 23_000;
