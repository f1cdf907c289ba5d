import { describe, expect, it } from "vitest";
import {
  autoStep,
  formatDuration,
  paramsFromState,
  parseDuration,
  resolveRange,
  stateFromParams,
  timeSettingsFromParams,
  withTimeSettings,
  zoomOut,
} from "./timeRange";

describe("durations", () => {
  it("parses and formats", () => {
    expect(parseDuration("15m")).toBe(900);
    expect(parseDuration("7d")).toBe(604800);
    expect(parseDuration("90s")).toBe(90);
    expect(parseDuration("abc")).toBeNull();
    expect(parseDuration("0m")).toBeNull();
    expect(formatDuration(3600)).toBe("1h");
    expect(formatDuration(90)).toBe("90s");
    expect(formatDuration(172800)).toBe("2d");
  });

  it("picks a readable step for about 240 points", () => {
    expect(autoStep(0, 3600)).toBe(15);
    expect(autoStep(0, 900)).toBe(5);
    expect(autoStep(0, 86400)).toBe(600);
    expect(autoStep(0, 7 * 86400)).toBe(3600);
  });

  it("resolves relative ranges against now", () => {
    expect(resolveRange({ kind: "relative", range: "1h" }, 10_000_000)).toEqual([10_000 - 3600, 10_000]);
    expect(resolveRange({ kind: "absolute", from: 5, to: 9 })).toEqual([5, 9]);
  });
});

describe("explorer URL state", () => {
  it("round-trips a relative range, a manual step and the table view", () => {
    const state = { query: 'rate(x{a="b"}[5m])', range: { kind: "relative", range: "6h" } as const, step: 60, view: "table" as const };
    const params = paramsFromState(state);
    expect(params.get("q")).toBe('rate(x{a="b"}[5m])');
    expect(params.get("step")).toBe("1m");
    expect(stateFromParams(params)).toEqual(state);
  });

  it("round-trips an absolute range with auto step", () => {
    const state = { query: "up", range: { kind: "absolute", from: 100, to: 200 } as const, step: null, view: "chart" as const };
    expect(stateFromParams(paramsFromState(state))).toEqual(state);
  });

  it("falls back to the last hour on nonsense", () => {
    const state = stateFromParams(new URLSearchParams("range=forever&from=9&to=3&step=x"));
    expect(state.range).toEqual({ kind: "relative", range: "1h" });
    expect(state.step).toBeNull();
    expect(state.query).toBe("");
  });
});

describe("shared time settings", () => {
  it("zooms out to twice the span", () => {
    expect(zoomOut({ kind: "relative", range: "1h" })).toEqual({ kind: "relative", range: "2h" });
    expect(zoomOut({ kind: "absolute", from: 1000, to: 2000 }, 10_000_000)).toEqual({
      kind: "absolute",
      from: 500,
      to: 2500,
    });
  });
  it("keeps several queries, the time zone and the refresh interval in the address", () => {
    const params = paramsFromState({
      query: "a",
      extra: ["b", "c"],
      range: { kind: "relative", range: "1h" },
      step: null,
      view: "chart",
    });
    expect(params.getAll("q")).toEqual(["a", "b", "c"]);
    expect(stateFromParams(params).extra).toEqual(["b", "c"]);
    const withTime = withTimeSettings(params, { utc: true, refresh: 30, range: { kind: "relative", range: "6h" } });
    expect(withTime.getAll("q")).toEqual(["a", "b", "c"]);
    expect(timeSettingsFromParams(withTime)).toEqual({ range: { kind: "relative", range: "6h" }, utc: true, refresh: 30 });
    expect(timeSettingsFromParams(new URLSearchParams())).toEqual({
      range: { kind: "relative", range: "1h" },
      utc: false,
      refresh: null,
    });
  });
});
