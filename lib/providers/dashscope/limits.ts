/** CosyVoice's text limits (seed 001): per continue-task and per task, with a Han character counted twice. */
export const COSYVOICE_MESSAGE_LIMIT = 20_000;
export const COSYVOICE_TASK_LIMIT = 200_000;
