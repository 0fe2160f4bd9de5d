/** The MiniMax speech models DashScope serves (seed 004's model table): the voice catalogue lists them, the client sends them. */
export const MINIMAX_MODELS = [
  "MiniMax/speech-2.8-hd",
  "MiniMax/speech-2.8-turbo",
  "MiniMax/speech-02-hd",
  "MiniMax/speech-02-turbo",
] as const;
