export const PLAYGROUND_HTML = "<!doctype html><title>tts</title>";
