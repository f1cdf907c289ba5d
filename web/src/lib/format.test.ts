import { describe, expect, it } from "vitest";
import { describeChange, fmt, formatNumber, formatTime, formatUnit, formatWindow } from "./format";

describe("formatNumber", () => {
  it("keeps three significant digits, never a raw float", () => {
    expect(formatNumber(7.246005517241384)).toBe("7.25");
    expect(formatNumber(0.00042)).toBe("0.00042");
    expect(formatNumber(0.123456)).toBe("0.123");
    expect(formatNumber(100)).toBe("100");
    expect(formatNumber(456.7)).toBe("457");
    expect(formatNumber(2)).toBe("2");
    expect(formatNumber(0)).toBe("0");
    expect(formatNumber(-3.14159)).toBe("-3.14");
  });
  it("abbreviates large values", () => {
    expect(formatNumber(1234)).toBe("1.23k");
    expect(formatNumber(12345)).toBe("12.3k");
    expect(formatNumber(1234567)).toBe("1.23M");
    expect(formatNumber(999_999)).toBe("1M");
    expect(formatNumber(3e9)).toBe("3G");
  });
  it("shows missing values as a dash", () => {
    expect(formatNumber(null)).toBe("—");
    expect(formatNumber(undefined)).toBe("—");
    expect(formatNumber(Number.NaN)).toBe("—");
  });
});

describe("formatUnit", () => {
  it("gives every unit its suffix", () => {
    expect(formatUnit(45.678, "percent")).toBe("45.7%");
    expect(formatUnit(0.0123, "ratio")).toBe("1.23%");
    expect(formatUnit(0.25, "seconds")).toBe("250 ms");
    expect(formatUnit(1.5, "seconds")).toBe("1.5 s");
    expect(formatUnit(90, "seconds")).toBe("1.5 min");
    expect(formatUnit(0.0000123, "seconds")).toBe("12.3 µs");
    expect(formatUnit(12.345, "rate")).toBe("12.3/s");
    expect(formatUnit(3.456, "usd")).toBe("$3.46");
    expect(formatUnit(0.0042, "usd")).toBe("$0.0042");
    expect(formatUnit(25000, "usd")).toBe("$25k");
    expect(formatUnit(1.2, "usd/h")).toBe("$1.20/h");
    expect(formatUnit(7.246005517241384, "")).toBe("7.25");
  });
  it("has formatters by name for the tiles and tables", () => {
    expect(fmt.percent(0.5)).toBe("50%");
    expect(fmt.usd(null)).toBe("—");
    expect(fmt.rate(1500)).toBe("1.5k/s");
  });
});

describe("describeChange", () => {
  it("gives a signed percentage against a comparable window", () => {
    expect(describeChange(110, 100)).toEqual({ kind: "change", text: "+10%", percent: 10 });
    expect(describeChange(95, 100)).toEqual({ kind: "change", text: "-5.0%", percent: -5 });
  });
  it("says there is not enough history when the server says the previous window is partly empty", () => {
    expect(describeChange(3255, 99, false).text).toBe("not enough history");
    expect(describeChange(110, 100, false).text).toBe("not enough history");
    // with history, a large change is a real one (an incident), shown as it is
    expect(describeChange(3255, 99, true)).toEqual({ kind: "change", text: "+3188%", percent: (100 * (3255 - 99)) / 99 });
    expect(describeChange(5, null).text).toBe("not enough history");
    expect(describeChange(5, 0).text).toBe("not enough history");
    expect(describeChange(null, 5).text).toBe("no data");
  });
});

describe("formatWindow", () => {
  it("shows a span once, the end's date only when it differs", () => {
    const start = "2026-12-07T08:00:00Z";
    expect(formatWindow(start, start)).toBe(formatTime(start));
    const span = formatWindow(start, "2026-12-07T08:01:35Z");
    expect(span.startsWith(`${formatTime(start)} – `)).toBe(true);
    expect(span.length).toBeLessThan(2 * formatTime(start).length);
    expect(formatWindow(start, "2026-12-09T08:00:00Z")).toBe(`${formatTime(start)} – ${formatTime("2026-12-09T08:00:00Z")}`);
  });
});
