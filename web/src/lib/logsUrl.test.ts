import { describe, expect, it } from "vitest";
import {
  agentLogQuery,
  alertLogsHref,
  logsHref,
  logsParams,
  logsStateFromParams,
  rangeBounds,
  zoomRange,
  type LogsViewState,
} from "./logsUrl";

const parse = (search: string): LogsViewState => logsStateFromParams(new URLSearchParams(search));

describe("the Logs page's address", () => {
  it("round-trips query, relative range and live", () => {
    const state: LogsViewState = { query: '{service="api"} |= "a&b"', range: { kind: "relative", range: "15m" }, live: true };
    const params = logsParams(state);
    expect(params.toString()).toBe("q=%7Bservice%3D%22api%22%7D+%7C%3D+%22a%26b%22&range=15m&live=1");
    expect(parse(params.toString())).toEqual(state);
  });

  it("round-trips an absolute range and never tails one", () => {
    const state = parse("q=x&from=1700000000&to=1700000900&live=1");
    expect(state).toEqual({ query: "x", range: { kind: "absolute", from: 1700000000, to: 1700000900 }, live: false });
    expect(logsParams(state).toString()).toBe("q=x&from=1700000000&to=1700000900");
  });

  it("falls back to the last hour for a missing or broken range", () => {
    expect(parse("")).toEqual({ query: "", range: { kind: "relative", range: "1h" }, live: false });
    expect(parse("range=soon").range).toEqual({ kind: "relative", range: "1h" });
    expect(parse("from=20&to=10").range).toEqual({ kind: "relative", range: "1h" });
    expect(parse("from=abc&to=10").range).toEqual({ kind: "relative", range: "1h" });
  });

  it("builds links from other pages", () => {
    expect(logsHref({ query: agentLogQuery("support-bot") })).toBe("/logs?q=%7Bagent%3D%22support-bot%22%7D&range=1h");
    expect(
      alertLogsHref({ labels: { agent_name: "b", severity: "critical" }, starts_at: "2026-01-02T03:04:05Z" }),
    ).toBe(`/logs?q=${encodeURIComponent('{agent="b"}')}&from=${1767323045 - 900}&to=${1767323045 + 900}`);
    expect(alertLogsHref({ labels: {}, starts_at: "2026-01-02T03:04:05Z" }, 60, 120)).toBe(
      `/logs?from=${1767323045 - 60}&to=${1767323045 + 120}`,
    );
    expect(alertLogsHref({ labels: {}, starts_at: "not a time" })).toBeNull();
  });

  it("covers a log anomaly's window, on its agent or else its service", () => {
    const start = 1767323045; // 2026-01-02T03:04:05Z, the window's start
    const windowed = {
      labels: { service: "checkout" },
      annotations: { window_start: "2026-01-02T03:04:05Z", window_end: "2026-01-02T05:04:05Z" },
      starts_at: "2026-01-03T00:00:00Z", // raised by a later analysis (a backfill)
    };
    expect(alertLogsHref(windowed)).toBe(
      `/logs?q=${encodeURIComponent('{service="checkout"}')}&from=${start - 900}&to=${start + 7200 + 900}`,
    );
    const withAgent = { ...windowed, annotations: { ...windowed.annotations, agent: "bot" } };
    expect(alertLogsHref(withAgent, 60, 60)).toBe(
      `/logs?q=${encodeURIComponent('{agent="bot"}')}&from=${start - 60}&to=${start + 7200 + 60}`,
    );
  });
});

describe("ranges", () => {
  it("zooms to whole seconds in either drag direction", () => {
    expect(zoomRange(100.4, 200.2)).toEqual({ kind: "absolute", from: 100, to: 201 });
    expect(zoomRange(200.2, 100.4)).toEqual({ kind: "absolute", from: 100, to: 201 });
    expect(zoomRange(5, 5)).toEqual({ kind: "absolute", from: 5, to: 6 });
  });

  it("resolves relative ranges to the millisecond, ending just after now", () => {
    const now = Date.parse("2026-01-02T03:04:05.678Z");
    expect(rangeBounds({ kind: "relative", range: "5m" }, now)).toEqual([
      "2026-01-02T02:59:05.679Z",
      "2026-01-02T03:04:05.679Z",
    ]);
    expect(rangeBounds({ kind: "absolute", from: 0, to: 60 }, now)).toEqual([
      "1970-01-01T00:00:00.000Z",
      "1970-01-01T00:01:00.000Z",
    ]);
  });
});
