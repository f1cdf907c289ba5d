/**
 * A reconnecting client for the live WebSocket (`/api/v1/ws`, protocol in docs/websocket.md).
 *
 * - authenticates with the in-memory access token as the first message;
 * - reconnects by itself with exponential backoff (and jitter) after any close but a
 *   deliberate `close()`; after a close that says the credential is no longer good (4401:
 *   expired, revoked, access withdrawn; 4001: refused at connect) it asks for a fresh token
 *   (the page refreshes its access token) before reconnecting;
 * - remembers the last `seq` of every durable channel (alerts, deployments, fleet, agent:<id>)
 *   and sends `resume` after a reconnect, so no event is missed or handled twice;
 * - answers heartbeats and treats a connection silent for two heartbeats as dead.
 *
 * Pages subscribe with `subscribe(channel, handler)`; the React side is in `wsHooks.ts`.
 */

export type ConnectionStatus = "connecting" | "live" | "reconnecting" | "offline";

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  factor: number;
  /** 0..1: the share of each delay that is randomised. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 15_000, factor: 2, jitter: 0.3 };

/** Delay before reconnect attempt `attempt` (0-based): base·factor^attempt, capped, jittered. */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const raw = Math.min(options.maxMs, options.baseMs * options.factor ** Math.max(attempt, 0));
  const spread = raw * options.jitter;
  return Math.round(raw - spread + random() * spread);
}

/** Closed because its credential expired or access was withdrawn while connected. */
export const CLOSE_ACCESS_ENDED = 4401;
/** Closed because the `auth` message was missing or its token refused. */
export const CLOSE_UNAUTHENTICATED = 4001;

/** Whether a close with this code calls for a fresh credential before reconnecting. */
export function needsFreshToken(code: number | undefined): boolean {
  return code === CLOSE_ACCESS_ENDED || code === CLOSE_UNAUTHENTICATED;
}

const DURABLE_KINDS = new Set(["alerts", "deployments", "fleet", "agent"]);

export function isDurable(channel: string): boolean {
  return DURABLE_KINDS.has(channel.split(":", 1)[0] ?? "");
}

export interface ServerFrame {
  type: string;
  channel?: string;
  seq?: number;
  data?: unknown;
  at?: string;
  code?: string;
  message?: string;
  heartbeat_seconds?: number;
}

/**
 * Per-channel sequence bookkeeping: what to send on (re)connect, and which events are new.
 * A channel's seq is known once its snapshot or an event arrived.
 */
export class ResumeBook {
  private readonly seqs = new Map<string, number>();

  /** The message that (re)starts `channel`: `resume` after the last seen seq when known. */
  openMessage(channel: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const last = this.seqs.get(channel);
    if (last !== undefined && isDurable(channel)) {
      return { type: "resume", channel, last_seq: last };
    }
    return { type: "subscribe", channel, ...extra };
  }

  /** Record a snapshot's seq (the channel's latest at subscribe time). */
  snapshot(channel: string, seq: number | undefined): void {
    if (typeof seq === "number") this.seqs.set(channel, seq);
  }

  /** True when the event is new (and records it); false for a replayed duplicate. */
  accept(channel: string, seq: number | undefined): boolean {
    if (typeof seq !== "number") return true;
    const last = this.seqs.get(channel);
    if (isDurable(channel) && last !== undefined && seq <= last) return false;
    this.seqs.set(channel, seq);
    return true;
  }

  lastSeq(channel: string): number | undefined {
    return this.seqs.get(channel);
  }

  forget(channel: string): void {
    this.seqs.delete(channel);
  }
}

export interface Subscription {
  channel: string;
  /** Sent with `subscribe` (filter, interval). */
  options?: Record<string, unknown>;
  onEvent?: (data: unknown, frame: ServerFrame) => void;
  onSnapshot?: (data: unknown, frame: ServerFrame) => void;
}

export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
}

export interface LiveSocketOptions {
  url: string;
  /**
   * The credential for the `auth` message; null when there is none (then retried later).
   * `fresh` is true after the server closed for an expired or withdrawn credential: do not
   * hand back the one in hand, renew it (refresh the session).
   */
  token: (fresh: boolean) => Promise<string | null>;
  createSocket?: (url: string) => SocketLike;
  backoff?: BackoffOptions;
  random?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

const OPEN = 1;

export class LiveSocket {
  status: ConnectionStatus = "offline";
  /** Reconnect attempts since the last successful connection. */
  attempt = 0;
  readonly book = new ResumeBook();
  private socket: SocketLike | null = null;
  private readonly subs = new Map<string, Set<Subscription>>();
  private readonly statusListeners = new Set<(status: ConnectionStatus) => void>();
  private retryTimer: unknown = null;
  private silenceTimer: unknown = null;
  private heartbeatMs = 30_000;
  private closed = true;
  private authenticated = false;
  /** The last close asked for a fresh credential (until a connection is accepted again). */
  private staleToken = false;
  private readonly opts: Required<Omit<LiveSocketOptions, "url" | "token">> & LiveSocketOptions;

  constructor(options: LiveSocketOptions) {
    this.opts = {
      createSocket: (url) => new WebSocket(url),
      backoff: DEFAULT_BACKOFF,
      random: Math.random,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
      ...options,
    };
  }

  onStatus(listener: (status: ConnectionStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Start (or keep) the connection. */
  open(): void {
    if (!this.closed) return;
    this.closed = false;
    this.setStatus("connecting");
    void this.connect();
  }

  /** Stop for good: no reconnect until `open()` again. */
  close(): void {
    this.closed = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    this.authenticated = false;
    if (socket && socket.readyState <= OPEN) socket.close(1000, "closed by the page");
    this.setStatus("offline");
  }

  /** Receive a channel's snapshot and events until the returned function is called. */
  subscribe(sub: Subscription): () => void {
    let set = this.subs.get(sub.channel);
    const first = !set;
    if (!set) {
      set = new Set();
      this.subs.set(sub.channel, set);
    }
    set.add(sub);
    if (first && this.authenticated) this.send(this.book.openMessage(sub.channel, sub.options));
    return () => {
      const current = this.subs.get(sub.channel);
      if (!current) return;
      current.delete(sub);
      if (current.size === 0) {
        this.subs.delete(sub.channel);
        this.book.forget(sub.channel);
        if (this.authenticated) this.send({ type: "unsubscribe", channel: sub.channel });
      }
    };
  }

  private setStatus(status: ConnectionStatus): void {
    if (this.status === status) return;
    this.status = status;
    for (const listener of this.statusListeners) listener(status);
  }

  private send(message: Record<string, unknown>): void {
    if (this.socket && this.socket.readyState === OPEN) this.socket.send(JSON.stringify(message));
  }

  /** Read through a call: `close()` may run while `connect()` awaits the token. */
  private isClosed(): boolean {
    return this.closed;
  }

  private clearTimers(): void {
    if (this.retryTimer !== null) this.opts.clearTimer(this.retryTimer);
    if (this.silenceTimer !== null) this.opts.clearTimer(this.silenceTimer);
    this.retryTimer = this.silenceTimer = null;
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    let token: string | null = null;
    try {
      token = await this.opts.token(this.staleToken);
    } catch {
      token = null;
    }
    if (this.isClosed()) return;
    if (!token) {
      this.scheduleReconnect();
      return;
    }
    let socket: SocketLike;
    try {
      socket = this.opts.createSocket(this.opts.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: "auth", token }));
    socket.onmessage = (event) => this.receive(socket, event);
    socket.onerror = () => undefined; // a close follows
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      if (needsFreshToken(event.code)) this.staleToken = true;
      this.socket = null;
      this.authenticated = false;
      if (this.silenceTimer !== null) this.opts.clearTimer(this.silenceTimer);
      this.silenceTimer = null;
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    this.setStatus("reconnecting");
    const delay = backoffDelay(this.attempt, this.opts.backoff, this.opts.random);
    this.attempt += 1;
    this.retryTimer = this.opts.setTimer(() => {
      this.retryTimer = null;
      void this.connect();
    }, delay);
  }

  private armSilence(socket: SocketLike): void {
    if (this.silenceTimer !== null) this.opts.clearTimer(this.silenceTimer);
    this.silenceTimer = this.opts.setTimer(() => {
      // Nothing for two heartbeats: the connection is dead even if the socket says open.
      if (this.socket === socket) socket.close(4002, "no heartbeat");
    }, 2 * this.heartbeatMs + 1_000);
  }

  private receive(socket: SocketLike, event: MessageEvent): void {
    if (this.socket !== socket) return;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(String(event.data)) as ServerFrame;
    } catch {
      return;
    }
    this.armSilence(socket);
    switch (frame.type) {
      case "connected":
        this.authenticated = true;
        this.attempt = 0;
        this.staleToken = false;
        if (typeof frame.heartbeat_seconds === "number") this.heartbeatMs = frame.heartbeat_seconds * 1000;
        this.armSilence(socket);
        for (const [channel, subs] of this.subs) {
          const first = subs.values().next().value;
          this.send(this.book.openMessage(channel, first?.options));
        }
        this.setStatus("live");
        return;
      case "heartbeat":
        this.send({ type: "ping" });
        return;
      case "snapshot":
        if (!frame.channel) return;
        this.book.snapshot(frame.channel, frame.seq);
        for (const sub of this.subs.get(frame.channel) ?? []) sub.onSnapshot?.(frame.data, frame);
        return;
      case "event":
        if (!frame.channel || !this.book.accept(frame.channel, frame.seq)) return;
        for (const sub of this.subs.get(frame.channel) ?? []) sub.onEvent?.(frame.data, frame);
        return;
      default:
        return;
    }
  }
}

/** The address of the hub on this page's origin. */
export function liveSocketUrl(location: Pick<Location, "protocol" | "host"> = window.location): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/ws`;
}
