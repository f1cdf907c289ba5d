import { describe, expect, it } from "vitest";
import type { AgentPublic } from "../api/types";
import {
  EMPTY_AGENT_FORM,
  errorAt,
  formFromAgent,
  isCpuQuantity,
  isMemoryQuantity,
  parseLabels,
  toAgentCreate,
  toAgentUpdate,
  unplacedErrors,
  validateAgentForm,
  type AgentFormState,
} from "./agentForm";

const form = (patch: Partial<AgentFormState> = {}): AgentFormState => ({
  ...EMPTY_AGENT_FORM,
  name: "support-triage",
  ...patch,
});

const agent: AgentPublic = {
  id: "4f0c3c86-0c43-4d1a-9d0e-2f7a5f1f7c11",
  tenant_id: "0d9b7a39-7b8e-4f55-8a15-6b0f6f1a2b3c",
  owner_id: null,
  name: "support-triage",
  type: "llm",
  description: "Routes tickets",
  model: "gpt-4o-mini",
  version: "1.0.0",
  config: { temperature: 0.2, auto_scaling: { enabled: true, min_replicas: 2, max_replicas: 6 } },
  metadata: { owner: "support" },
  labels: { team: "support", env: "prod" },
  dependencies: [],
  replica_count: 2,
  cpu_limit: "500m",
  memory_limit: "512Mi",
  status: "running",
  revision: 4,
  created_at: "2025-01-01T00:00:00Z",
  updated_at: "2025-01-02T00:00:00Z",
  last_health_check: null,
  last_seen_at: null,
};

describe("validateAgentForm", () => {
  it("accepts the defaults with a name", () => {
    expect(validateAgentForm(form())).toEqual({});
  });

  it.each([
    ["", "Give the agent a name."],
    ["Upper", "DNS label"],
    ["-leading", "DNS label"],
    ["trailing-", "DNS label"],
    ["has_underscore", "DNS label"],
    ["a".repeat(64), "At most 63"],
  ])("refuses the name %j", (name, message) => {
    expect(validateAgentForm(form({ name })).name).toContain(message);
  });

  it("accepts one-character and 63-character names", () => {
    expect(validateAgentForm(form({ name: "a" })).name).toBeUndefined();
    expect(validateAgentForm(form({ name: "a".repeat(63) })).name).toBeUndefined();
  });

  it.each([
    ["0", undefined],
    ["20", undefined],
    ["21", "At most 20."],
    ["-1", "whole number"],
    ["1.5", "whole number"],
    ["", "whole number"],
  ])("replicas %j", (replica_count, message) => {
    const error = validateAgentForm(form({ replica_count })).replica_count;
    if (message === undefined) expect(error).toBeUndefined();
    else expect(error).toContain(message);
  });

  it("checks auto-scaling bounds only when enabled", () => {
    const bad = { min_replicas: "8", max_replicas: "3" };
    expect(validateAgentForm(form(bad))).toEqual({});
    const errors = validateAgentForm(form({ ...bad, autoscaling_enabled: true }));
    expect(errors["config.auto_scaling.max_replicas"]).toBe("Must be at least the minimum.");
    expect(
      validateAgentForm(form({ autoscaling_enabled: true, min_replicas: "0", max_replicas: "21" }))[
        "config.auto_scaling.max_replicas"
      ],
    ).toBe("At most 20.");
  });

  it("wants JSON objects for config and metadata", () => {
    expect(validateAgentForm(form({ config: "[1]" })).config).toContain("JSON object");
    expect(validateAgentForm(form({ metadata: "{" })).metadata).toContain("Not valid JSON");
    expect(validateAgentForm(form({ config: "" })).config).toBeUndefined();
    expect(validateAgentForm(form({ config: '{"auto_scaling": {}}' })).config).toContain(
      "auto-scaling",
    );
  });
});

describe("quantities", () => {
  it.each(["250m", "1", "2.5", "0.125", "1000m"])("cpu %s is valid", (v) => {
    expect(isCpuQuantity(v)).toBe(true);
  });
  it.each(["0", "0m", "1.2345", "abc", "1Gi", "", "-1"])("cpu %s is refused", (v) => {
    expect(isCpuQuantity(v)).toBe(false);
  });
  it.each(["512Mi", "1Gi", "1.5Gi", "256M", "1000", "1k"])("memory %s is valid", (v) => {
    expect(isMemoryQuantity(v)).toBe(true);
  });
  it.each(["0Mi", "Mi", "1 Gi", "1GB", "1mi", ""])("memory %s is refused", (v) => {
    expect(isMemoryQuantity(v)).toBe(false);
  });
});

describe("parseLabels", () => {
  it("reads commas and new lines, values optional", () => {
    expect(parseLabels("team=support, env=prod\ncanary")).toEqual({
      labels: { team: "support", env: "prod", canary: "" },
    });
  });
  it("accepts prefixed keys", () => {
    expect(parseLabels("example.com/tier=gold").labels).toEqual({ "example.com/tier": "gold" });
  });
  it("refuses bad keys, bad values and duplicates", () => {
    expect(parseLabels("bad key=1").error).toContain('Label key "bad key"');
    expect(parseLabels("k=-x").error).toContain('Label value "-x"');
    expect(parseLabels("k=1,k=2").error).toContain("twice");
    expect(parseLabels(`k=${"v".repeat(64)}`).error).toContain("at most 63");
  });
});

describe("request bodies", () => {
  it("builds a create body with auto-scaling inside config", () => {
    const body = toAgentCreate(
      form({
        model: " ",
        labels: "team=support",
        config: '{"temperature": 0.1}',
        autoscaling_enabled: true,
        min_replicas: "1",
        max_replicas: "4",
      }),
    );
    expect(body).toMatchObject({
      name: "support-triage",
      model: null,
      labels: { team: "support" },
      replica_count: 1,
      config: { temperature: 0.1, auto_scaling: { enabled: true, min_replicas: 1, max_replicas: 4 } },
    });
  });

  it("round-trips an agent through the form without changes", () => {
    const loaded = formFromAgent(agent);
    expect(loaded.autoscaling_enabled).toBe(true);
    expect(loaded.min_replicas).toBe("2");
    expect(loaded.labels).toBe("team=support, env=prod");
    expect(JSON.parse(loaded.config)).toEqual({ temperature: 0.2 });
    expect(toAgentUpdate(loaded, agent)).toEqual({});
  });

  it("sends only what changed, and keeps auto-scaling bounds when it is switched off", () => {
    const edited = { ...formFromAgent(agent), description: "New", autoscaling_enabled: false };
    expect(toAgentUpdate(edited, agent)).toEqual({
      description: "New",
      config: { temperature: 0.2, auto_scaling: { enabled: false, min_replicas: 2, max_replicas: 6 } },
    });
    expect(toAgentUpdate({ ...formFromAgent(agent), model: "" }, agent)).toEqual({ model: null });
  });
});

describe("server errors on the form", () => {
  const errors = { name: "taken", "labels.team": "bad", "config.auto_scaling": "min > max", extra: "?" };
  it("finds the message of a field or its sub-fields", () => {
    expect(errorAt(errors, "labels")).toBe("bad");
    expect(errorAt(errors, "name")).toBe("taken");
    expect(errorAt(errors, "metadata")).toBeUndefined();
  });
  it("lists errors no field shows", () => {
    expect(unplacedErrors(errors, ["name", "labels", "config"])).toEqual(["extra: ?"]);
  });
});
