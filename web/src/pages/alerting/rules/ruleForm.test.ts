import { describe, expect, it } from "vitest";
import {
  bodyOf,
  EMPTY_RULE_FORM,
  formatDuration,
  formErrorsOf,
  parseDuration,
  validateRuleForm,
} from "./ruleForm";

describe("durations", () => {
  it("reads Prometheus durations", () => {
    expect(parseDuration("5m")).toBe(300);
    expect(parseDuration("1h30m")).toBe(5400);
    expect(parseDuration("90s")).toBe(90);
    expect(parseDuration("0")).toBe(0);
    expect(parseDuration(" 2d ")).toBe(172_800);
    expect(parseDuration("500ms")).toBe(0.5);
  });

  it("refuses what is not one", () => {
    for (const text of ["5", "5 m", "m", "1.5h", "-5m", "5min", "m5"]) expect(parseDuration(text)).toBeNull();
  });

  it("writes what the rules list shows", () => {
    expect(formatDuration(300)).toBe("5m");
    expect(formatDuration(5400)).toBe("1h30m");
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(86_400 + 60)).toBe("1d1m");
  });
});

describe("validation", () => {
  it("names each bad field inline", () => {
    const errors = validateRuleForm({
      ...EMPTY_RULE_FORM,
      name: " ",
      metric: "9bad",
      window: "five",
      threshold: "",
      forDuration: "10",
      interval: "0s",
    });
    expect(Object.keys(errors).sort()).toEqual(
      ["forDuration", "interval", "metric", "name", "threshold", "window"].sort(),
    );
    expect(errors.forDuration).toContain("5m");
  });

  it("accepts a good rule and sends seconds", () => {
    const form = { ...EMPTY_RULE_FORM, name: "Hot", forDuration: "2m", interval: "30s" };
    expect(validateRuleForm(form)).toEqual({});
    const body = bodyOf(form, undefined);
    expect(body.for_seconds).toBe(120);
    expect(body.interval_seconds).toBe(30);
    expect(body.threshold?.metric_name).toBe("agent_cpu_percent");
  });

  it("maps server field errors onto the form", () => {
    expect(formErrorsOf({ "threshold.metric_name": "bad metric", for_seconds: "too long" })).toEqual({
      metric: "bad metric",
      forDuration: "too long",
    });
  });
});
