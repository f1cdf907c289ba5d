/** Fleet helpers shared by the agent and deployment pages: live refresh, the deploy form. */
import { useQueryClient } from "@tanstack/react-query";
import { agentKeys } from "../api/agents";
import { fleetKeys, type DeploymentCreate, type DeploymentSummary, type RuntimeSpec } from "../api/fleet";
import type { AgentPublic } from "../api/types";
import { useChannel, useLiveConnection } from "./wsHooks";

/** Keep the agent, its replicas and output current from the `agent:<id>` channel. */
export function useAgentLive(agentId: string): void {
  const client = useQueryClient();
  useLiveConnection();
  useChannel(`agent:${agentId}`, {
    onEvent: () => {
      void client.invalidateQueries({ queryKey: agentKeys.detail(agentId) });
      void client.invalidateQueries({ queryKey: fleetKeys.agent(agentId) });
    },
  });
}

export function useFleetInvalidate(agentId: string): () => Promise<void> {
  const client = useQueryClient();
  return async () => {
    await Promise.all([
      client.invalidateQueries({ queryKey: agentKeys.all }),
      client.invalidateQueries({ queryKey: fleetKeys.agent(agentId) }),
    ]);
  };
}

export function triggerText(d: DeploymentSummary): string {
  const by = d.triggered_by;
  return by.kind === "user" ? by.name : `${by.kind.replace("_", " ")}: ${by.name}`;
}

export const TEMPLATES = ["", "llm", "classifier", "extractor"] as const;

export interface DeployForm {
  version: string;
  strategy: "rolling" | "recreate";
  replicas: string;
  description: string;
  command: string;
  args: string;
  env: string;
  port: string;
  health_path: string;
  template: (typeof TEMPLATES)[number];
}

function str(value: unknown): string {
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
}

/** The form starts from the agent's current runtime fields, so changing one keeps the rest. */
export function initialForm(agent: AgentPublic): DeployForm {
  const c = agent.config;
  const args = Array.isArray(c.args) ? (c.args as unknown[]).map(str).join("\n") : "";
  const env =
    typeof c.env === "object" && c.env !== null
      ? Object.entries(c.env as Record<string, unknown>)
          .map(([k, v]) => `${k}=${str(v)}`)
          .join("\n")
      : "";
  const template = str(c.template);
  return {
    version: "",
    strategy: "rolling",
    replicas: String(agent.replica_count),
    description: "",
    command: str(c.command),
    args,
    env,
    port: str(c.port),
    health_path: str(c.health_path),
    template: (TEMPLATES as readonly string[]).includes(template) ? (template as DeployForm["template"]) : "",
  };
}

/** The request body; null with a message when a field cannot be read. */
export function deploymentBody(form: DeployForm): { body: DeploymentCreate } | { error: string } {
  const spec: RuntimeSpec = {};
  if (form.command.trim()) spec.command = form.command.trim();
  spec.args = form.args.split("\n").map((a) => a.trim()).filter(Boolean);
  const env: Record<string, string> = {};
  for (const line of form.env.split("\n")) {
    if (!line.trim()) continue;
    const at = line.indexOf("=");
    if (at <= 0) return { error: `Environment: "${line.trim()}" is not KEY=value.` };
    env[line.slice(0, at).trim()] = line.slice(at + 1);
  }
  spec.env = env;
  if (form.port.trim()) spec.port = Number(form.port);
  spec.health_path = form.health_path.trim() || null;
  if (form.template) spec.template = form.template;
  const body: DeploymentCreate = {
    version: form.version.trim(),
    strategy: form.strategy,
    description: form.description.trim(),
    spec,
  };
  if (form.replicas.trim()) body.replicas = Number(form.replicas);
  return { body };
}

