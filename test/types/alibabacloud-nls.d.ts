// The official NLS SDK ships no types; only what the tests drive is declared (facts/peers.md §1).
declare module "alibabacloud-nls" {
  import type { EventEmitter } from "node:events";
  export class SpeechSynthesizer {
    constructor(config: { url: string; appkey: string; token: string }, enableRealTime?: boolean);
    defaultStartParams(voice?: string): Record<string, unknown>;
    start(params: Record<string, unknown>, enablePing?: boolean, pingInterval?: number): Promise<string>;
    on(event: "data", cb: (data: Buffer) => void): void;
    on(event: "meta" | "completed" | "failed" | "closed" | "TaskFailed", cb: (msg: string) => void): void;
    shutdown(): void;
  }
  export type Emitter = EventEmitter;
}
