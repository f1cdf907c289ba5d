import { describe, expect, it } from "vitest";
import { applyCompletion, buildSelector, completionAt, parseSelector, suggest } from "./promqlComplete";

describe("PromQL completion", () => {
  it("completes metric names outside braces and label names inside", () => {
    expect(completionAt("rate(agent_req", 14)).toEqual({ prefix: "agent_req", from: 5, context: "metric" });
    expect(completionAt('agent_cpu_percent{ag', 20)).toEqual({ prefix: "ag", from: 18, context: "label" });
    expect(completionAt("sum by (ag", 10)?.context).toBe("label");
    expect(completionAt('x{agent="ab', 11)).toBeNull();
    expect(completionAt("rate(", 5)).toBeNull();
  });

  it("suggests prefix matches first, then substring matches", () => {
    const names = ["agent_cpu_percent", "agent_memory_percent", "up", "process_cpu_seconds_total"];
    expect(suggest("cpu", names)).toEqual(["agent_cpu_percent", "process_cpu_seconds_total"]);
    expect(suggest("agent_", names)).toEqual(["agent_cpu_percent", "agent_memory_percent"]);
  });

  it("replaces the word at the caret", () => {
    const text = "rate(agent_req[5m])";
    const c = completionAt(text, 14)!;
    expect(applyCompletion(text, c, 14, "agent_requests_total")).toEqual(["rate(agent_requests_total[5m])", 25]);
  });

  it("builds selectors with escaped values", () => {
    expect(buildSelector("up", {})).toBe("up");
    expect(buildSelector("up", { agent: 'a"b', env: "" })).toBe('up{agent="a\\"b"}');
  });
});

describe("parseSelector", () => {
  it("reads back what buildSelector writes", () => {
    const q = buildSelector("agent_cpu_percent", { agent: 'odd"one', env: "prod" });
    expect(parseSelector(q)).toEqual({ metric: "agent_cpu_percent", filters: { agent: 'odd"one', env: "prod" } });
    expect(parseSelector("up")).toEqual({ metric: "up", filters: {} });
  });
  it("gives null for any other PromQL", () => {
    expect(parseSelector("sum(rate(agent_requests_total[5m]))")).toBeNull();
    expect(parseSelector('up{agent=~"a.*"}')).toBeNull();
    expect(parseSelector("up > 1")).toBeNull();
  });
});
