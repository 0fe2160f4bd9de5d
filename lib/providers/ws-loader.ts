/**
 * The `ws` client class, loaded on first use: most functions (submit, store, callback, reconcile) never open a
 * WebSocket, and compiling ws (and the zlib it loads) is part of every cold start otherwise.
 */
import type WebSocket from "ws";

export type WebSocketClass = typeof WebSocket;

/** `WebSocket.CONNECTING` and `WebSocket.OPEN`, without loading ws to read them. */
export const CONNECTING = 0;
export const OPEN = 1;

let loaded: WebSocketClass | undefined;
let loading: Promise<WebSocketClass> | undefined;

export function loadWebSocket(): Promise<WebSocketClass> {
  loading ??= import("ws").then((m) => {
    loaded = m.default;
    return loaded;
  });
  return loading;
}

/** The class, once `loadWebSocket()` has resolved (every session is opened after it). */
export function webSocketClass(): WebSocketClass {
  if (!loaded) throw new Error("ws is not loaded yet: await loadWebSocket() before opening a connection");
  return loaded;
}
