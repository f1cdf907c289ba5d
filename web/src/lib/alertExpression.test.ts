import { describe, expect, it } from "vitest";
import type { AlertPublic } from "../api/alerts";
import { alertExpression, splitComparison } from "./alertExpression";

describe("splitComparison", () => {
  it("splits a trailing comparison with a number", () => {
    expect(splitComparison('cpu{agent="a"} > 90')).toEqual({ lhs: 'cpu{agent="a"}', threshold: 90 });
    expect(splitComparison("rate(x[5m]) >= 0.05")).toEqual({ lhs: "rate(x[5m])", threshold: 0.05 });
    expect(splitComparison("up == bool 0")).toEqual({ lhs: "up", threshold: 0 });
  });
  it("leaves other expressions alone", () => {
    expect(splitComparison("absent(up)")).toBeNull();
    expect(splitComparison("a > b")).toBeNull();
  });
});

describe("alertExpression", () => {
  const base = { expr: null, generator_url: null } as unknown as AlertPublic;
  it("prefers the rule's expression, then a Prometheus generator URL", () => {
    expect(alertExpression({ ...base, expr: "up == 0" })).toBe("up == 0");
    expect(
      alertExpression({ ...base, generator_url: "http://prom:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1" }),
    ).toBe("up == 0");
    expect(alertExpression(base)).toBeNull();
  });
});
