/** React bindings of the live WebSocket: one shared connection per tab, opened on demand. */
import { useCallback, useEffect, useRef, useSyncExternalStore } from "react";
import { getAccessToken, refreshSession } from "../api/client";
import { LiveSocket, liveSocketUrl, type ConnectionStatus, type ServerFrame } from "./ws";

let shared: LiveSocket | null = null;
let users = 0;

/** The access token in hand, or a refreshed one when there is none or it is no longer good. */
async function token(fresh: boolean): Promise<string | null> {
  const current = fresh ? null : getAccessToken();
  return current ?? (await refreshSession())?.access_token ?? null;
}

/** The tab's connection (created on first use). */
export function liveSocket(): LiveSocket {
  shared ??= new LiveSocket({
    url: liveSocketUrl(),
    token,
  });
  return shared;
}

/** Keep the shared connection open while the calling component is mounted. */
export function useLiveConnection(): ConnectionStatus {
  const socket = liveSocket();
  const subscribe = useCallback(
    (notify: () => void) => {
      const off = socket.onStatus(notify);
      return () => {
        off();
      };
    },
    [socket],
  );
  const status = useSyncExternalStore(subscribe, () => socket.status);
  useEffect(() => {
    users += 1;
    socket.open();
    return () => {
      users -= 1;
      if (users === 0) socket.close();
    };
  }, [socket]);
  return status;
}

/** Receive a channel while mounted; handlers may change between renders without resubscribing. */
export function useChannel(
  channel: string,
  handlers: {
    onEvent?: (data: unknown, frame: ServerFrame) => void;
    onSnapshot?: (data: unknown, frame: ServerFrame) => void;
  },
  options?: Record<string, unknown>,
): void {
  const ref = useRef(handlers);
  useEffect(() => {
    ref.current = handlers;
  });
  const optionsKey = JSON.stringify(options ?? {});
  useEffect(() => {
    const parsed = JSON.parse(optionsKey) as Record<string, unknown>;
    return liveSocket().subscribe({
      channel,
      options: parsed,
      onEvent: (data, frame) => ref.current.onEvent?.(data, frame),
      onSnapshot: (data, frame) => ref.current.onSnapshot?.(data, frame),
    });
  }, [channel, optionsKey]);
}
