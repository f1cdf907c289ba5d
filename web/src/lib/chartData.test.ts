import { describe, expect, it } from "vitest";
import { seriesColor, seriesOfAlert, seriesStats } from "./chartData";

describe("seriesColor", () => {
  it("never repeats a colour across 40 series", () => {
    const colours = Array.from({ length: 40 }, (_, i) => seriesColor(i));
    expect(new Set(colours).size).toBe(40);
  });
});

describe("seriesStats", () => {
  it("summarises the finite values", () => {
    expect(
      seriesStats([
        [1, 2],
        [2, null],
        [3, 6],
        [4, 4],
      ]),
    ).toEqual({ last: 4, min: 2, avg: 4, max: 6 });
    expect(seriesStats([[1, null]])).toEqual({ last: null, min: null, avg: null, max: null });
  });
});

describe("seriesOfAlert", () => {
  it("keeps only the series whose labels are the alert's", () => {
    const series = Array.from({ length: 31 }, (_, i) => ({ metric: { agent: `a${i}` }, points: [] }));
    const own = seriesOfAlert(series, { alertname: "HighErrors", agent: "a7", severity: "warning" });
    expect(own.map((s) => s.metric.agent)).toEqual(["a7"]);
    expect(seriesOfAlert([{ metric: {} }], { agent: "x" })).toHaveLength(1);
  });
});
