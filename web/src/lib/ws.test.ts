import { describe, expect, it } from "vitest";
import { backoffDelay, LiveSocket, needsFreshToken, ResumeBook, type SocketLike } from "./ws";

describe("backoffDelay", () => {
  const opts = { baseMs: 500, maxMs: 15_000, factor: 2, jitter: 0 };
  it("doubles from the base and stops at the cap", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((a) => backoffDelay(a, opts))).toEqual([
      500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000,
    ]);
  });
  it("takes the jitter off the top, never above the un-jittered delay", () => {
    const jittered = { ...opts, jitter: 0.3 };
    expect(backoffDelay(2, jittered, () => 0)).toBe(1400);
    expect(backoffDelay(2, jittered, () => 1)).toBe(2000);
    expect(backoffDelay(2, jittered, () => 0.5)).toBe(1700);
  });
});

describe("ResumeBook", () => {
  it("subscribes first, resumes durable channels after the last seen seq", () => {
    const book = new ResumeBook();
    expect(book.openMessage("alerts")).toEqual({ type: "subscribe", channel: "alerts" });
    book.snapshot("alerts", 41);
    expect(book.accept("alerts", 42)).toBe(true);
    expect(book.openMessage("alerts")).toEqual({ type: "resume", channel: "alerts", last_seq: 42 });
    expect(book.accept("agent:0b4e", 3)).toBe(true);
    expect(book.openMessage("agent:0b4e")).toEqual({ type: "resume", channel: "agent:0b4e", last_seq: 3 });
  });
  it("drops replayed duplicates on durable channels only", () => {
    const book = new ResumeBook();
    book.snapshot("fleet", 10);
    expect(book.accept("fleet", 10)).toBe(false);
    expect(book.accept("fleet", 9)).toBe(false);
    expect(book.accept("fleet", 11)).toBe(true);
    expect(book.lastSeq("fleet")).toBe(11);
    book.snapshot("metrics", 100);
    expect(book.accept("metrics", 100)).toBe(true); // coalesced frames may repeat a seq
  });
  it("always re-subscribes metrics with its options, and forgets on unsubscribe", () => {
    const book = new ResumeBook();
    book.accept("metrics", 5);
    expect(book.openMessage("metrics", { interval: 0.5 })).toEqual({ type: "subscribe", channel: "metrics", interval: 0.5 });
    book.accept("alerts", 7);
    book.forget("alerts");
    expect(book.openMessage("alerts")).toEqual({ type: "subscribe", channel: "alerts" });
  });
});

/** A stand-in for the browser's WebSocket that records what the client sends. */
class ScriptedSocket implements SocketLike {
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(): void {
    this.readyState = 3;
    this.onclose?.({} as CloseEvent);
  }
  /** The server closes with a code (and a reason). */
  closedBy(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason } as CloseEvent);
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({} as Event);
  }
  frame(data: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(data) } as MessageEvent);
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe("needsFreshToken", () => {
  it("asks for a fresh credential after access ended or the token was refused, only then", () => {
    expect(needsFreshToken(4401)).toBe(true);
    expect(needsFreshToken(4001)).toBe(true);
    for (const code of [1000, 1001, 1006, 4000, 4002, 4008, undefined]) {
      expect(needsFreshToken(code)).toBe(false);
    }
  });
});

describe("LiveSocket", () => {
  function setup(token: (fresh: boolean) => Promise<string | null> = () => Promise.resolve("token-1")) {
    const sockets: ScriptedSocket[] = [];
    const timers: { fn: () => void; ms: number }[] = [];
    const live = new LiveSocket({
      url: "ws://test/api/v1/ws",
      token,
      createSocket: () => {
        const s = new ScriptedSocket();
        sockets.push(s);
        return s;
      },
      backoff: { baseMs: 100, maxMs: 1000, factor: 2, jitter: 0 },
      setTimer: (fn, ms) => {
        timers.push({ fn, ms });
        return timers.length;
      },
      clearTimer: () => undefined,
    });
    const statuses: string[] = [];
    live.onStatus((s) => statuses.push(s));
    return { live, sockets, timers, statuses };
  }

  it("authenticates, subscribes, and after a drop reconnects with backoff and resumes", async () => {
    const { live, sockets, timers, statuses } = setup();
    const events: unknown[] = [];
    live.subscribe({ channel: "alerts", onEvent: (d) => events.push(d) });
    live.subscribe({ channel: "metrics", options: { interval: 0.5 } });
    live.open();
    await settle();
    const first = sockets[0]!;
    first.open();
    expect(first.sent[0]).toEqual({ type: "auth", token: "token-1" });
    first.frame({ type: "connected", heartbeat_seconds: 30 });
    expect(first.sent.slice(1)).toEqual([
      { type: "subscribe", channel: "alerts" },
      { type: "subscribe", channel: "metrics", interval: 0.5 },
    ]);
    first.frame({ type: "snapshot", channel: "alerts", seq: 4, data: { recent: [] } });
    first.frame({ type: "event", channel: "alerts", seq: 5, data: { id: "a" } });
    first.frame({ type: "heartbeat" });
    expect(first.sent.at(-1)).toEqual({ type: "ping" });

    first.close(); // the server went away
    expect(live.status).toBe("reconnecting");
    const retries = timers.filter((t) => t.ms !== 61_000);
    expect(retries.at(-1)?.ms).toBe(100);
    retries.at(-1)!.fn();
    await settle();
    const second = sockets[1]!;
    second.open();
    second.frame({ type: "connected", heartbeat_seconds: 30 });
    expect(second.sent.slice(1)).toEqual([
      { type: "resume", channel: "alerts", last_seq: 5 },
      { type: "subscribe", channel: "metrics", interval: 0.5 },
    ]);
    second.frame({ type: "event", channel: "alerts", seq: 5, data: { id: "a" } }); // replayed twice
    second.frame({ type: "event", channel: "alerts", seq: 6, data: { id: "b" } });
    expect(events).toEqual([{ id: "a" }, { id: "b" }]);
    expect(statuses).toEqual(["connecting", "live", "reconnecting", "live"]);
    expect(live.attempt).toBe(0);
  });

  it("backs off further on every failed attempt and stops after close()", async () => {
    const { live, sockets, timers } = setup();
    live.open();
    await settle();
    for (let i = 0; i < 4; i++) {
      sockets.at(-1)!.close(); // refused before it opened
      timers.at(-1)!.fn();
      await settle();
    }
    expect(timers.map((t) => t.ms)).toEqual([100, 200, 400, 800]);
    live.close();
    expect(live.status).toBe("offline");
    const count = sockets.length;
    sockets.at(-1)!.close();
    expect(timers).toHaveLength(4);
    expect(sockets).toHaveLength(count);
  });

  it("closes a connection that stays silent for two heartbeats", async () => {
    const { live, sockets, timers } = setup();
    live.open();
    await settle();
    const socket = sockets[0]!;
    socket.open();
    socket.frame({ type: "connected", heartbeat_seconds: 1 });
    const silence = timers.at(-1)!;
    expect(silence.ms).toBe(3000);
    silence.fn();
    expect(socket.readyState).toBe(3);
    expect(live.status).toBe("reconnecting");
  });

  it("after a 4401 close renews its token, reconnects and resumes", async () => {
    const asked: boolean[] = [];
    let current = "token-1";
    const { live, sockets, timers, statuses } = setup((fresh) => {
      asked.push(fresh);
      if (fresh) current = "token-2"; // the page refreshed its session
      return Promise.resolve(current);
    });
    live.subscribe({ channel: "alerts" });
    live.open();
    await settle();
    const first = sockets[0]!;
    first.open();
    first.frame({ type: "connected", heartbeat_seconds: 30 });
    first.frame({ type: "snapshot", channel: "alerts", seq: 7, data: { recent: [] } });

    first.closedBy(4401, "the credential expired: renew it and reconnect");
    expect(live.status).toBe("reconnecting");
    timers.filter((t) => t.ms !== 61_000).at(-1)!.fn();
    await settle();
    const second = sockets[1]!;
    second.open();
    expect(second.sent[0]).toEqual({ type: "auth", token: "token-2" });
    second.frame({ type: "connected", heartbeat_seconds: 30 });
    expect(second.sent[1]).toEqual({ type: "resume", channel: "alerts", last_seq: 7 });
    expect(asked).toEqual([false, true]);

    second.closedBy(1006); // a dropped network keeps the token in hand
    timers.filter((t) => t.ms !== 61_000).at(-1)!.fn();
    await settle();
    expect(asked).toEqual([false, true, false]);
    expect(statuses).toEqual(["connecting", "live", "reconnecting", "live", "reconnecting"]);
  });

  it("keeps asking for a fresh token until a connection is accepted", async () => {
    const asked: boolean[] = [];
    const { live, sockets, timers } = setup((fresh) => {
      asked.push(fresh);
      return Promise.resolve(fresh ? null : "stale"); // the refresh fails: no session
    });
    live.open();
    await settle();
    sockets[0]!.open();
    sockets[0]!.closedBy(4001, "authentication failed");
    for (let i = 0; i < 2; i++) {
      timers.at(-1)!.fn();
      await settle();
    }
    expect(asked).toEqual([false, true, true]);
    expect(sockets).toHaveLength(1); // no token, no socket
    expect(live.status).toBe("reconnecting");
  });
});
