import { describe, expect, it } from "vitest";
import type { AgentPublic } from "../api/types";
import { deploymentBody, initialForm } from "./fleet";

const agent = {
  replica_count: 2,
  config: { command: "python3", args: ["app.py", "--fast"], env: { GREETING: "v1" }, health_path: "/healthz" },
} as unknown as AgentPublic;

describe("deploy form", () => {
  it("starts from the agent's runtime fields", () => {
    const form = initialForm(agent);
    expect(form.command).toBe("python3");
    expect(form.args).toBe("app.py\n--fast");
    expect(form.env).toBe("GREETING=v1");
    expect(form.replicas).toBe("2");
    expect(form.version).toBe("");
  });

  it("builds the request body", () => {
    const form = { ...initialForm(agent), version: " 2.0 ", env: "GREETING=v2\nEMPTY=\n\nA=b=c" };
    const built = deploymentBody(form);
    expect(built).toEqual({
      body: {
        version: "2.0",
        strategy: "rolling",
        description: "",
        replicas: 2,
        spec: {
          command: "python3",
          args: ["app.py", "--fast"],
          env: { GREETING: "v2", EMPTY: "", A: "b=c" },
          health_path: "/healthz",
        },
      },
    });
  });

  it("refuses an environment line without a name", () => {
    const built = deploymentBody({ ...initialForm(agent), version: "2", env: "novalue" });
    expect(built).toEqual({ error: 'Environment: "novalue" is not KEY=value.' });
  });
});
