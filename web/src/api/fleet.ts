/** The fleet: lifecycle actions, replicas, output, deployments and autoscaler decisions. */
import { infiniteQueryOptions, keepPreviousData, queryOptions } from "@tanstack/react-query";
import { api, unwrap, unwrapWithEtag } from "./client";
import { cursorPaging, PAGE_SIZE } from "./paging";
import type { components } from "./schema";

type Schemas = components["schemas"];
export type ReplicaPublic = Schemas["ReplicaPublic"];
export type LogLine = Schemas["LogLinePublic"];
export type DeploymentPublic = Schemas["DeploymentPublic"];
export type DeploymentSummary = Schemas["DeploymentSummary"];
export type DeploymentStatus = Schemas["DeploymentStatus"];
export type DeploymentCreate = Schemas["DeploymentCreate"];
export type DeploymentDiff = Schemas["DeploymentDiff"];
export type RuntimeSpec = Schemas["RuntimeSpec"];
export type AutoscalerDecision = Schemas["AutoscalerDecisionPublic"];
export type TriggerKind = Schemas["TriggeredBy"]["kind"];

export const DEPLOYMENT_STATUSES: readonly DeploymentStatus[] = [
  "pending",
  "in_progress",
  "completed",
  "failed",
  "rolled_back",
];
export const TRIGGER_KINDS: readonly TriggerKind[] = ["user", "api_key", "github", "system"];

export interface DeploymentFilters {
  status: DeploymentStatus | "";
  triggered_by: TriggerKind | "";
  version: string;
  agent_id: string;
}

export const DEFAULT_DEPLOYMENT_FILTERS: DeploymentFilters = {
  status: "",
  triggered_by: "",
  version: "",
  agent_id: "",
};

const all = ["fleet"] as const;
const deployments = [...all, "deployments"] as const;

/** Query keys: `agent(id)` covers every runtime query of one agent; `deployments` every
 * deployment query whatever its scope. */
export const fleetKeys = {
  all,
  agent: (id: string) => [...all, "agent", id] as const,
  replicas: (id: string) => [...all, "agent", id, "replicas"] as const,
  output: (id: string) => [...all, "agent", id, "output"] as const,
  decisions: (id: string) => [...all, "agent", id, "decisions"] as const,
  deployments,
  agentDeployments: (id: string) => [...deployments, "agent", id] as const,
  list: (filters: DeploymentFilters) => [...deployments, "list", filters] as const,
  deployment: (id: string) => [...deployments, "one", id] as const,
  diff: (id: string, base: string | null) => [...deployments, "diff", id, base] as const,
};

/** Decisions kept in the agent page's list. */
const DECISIONS_SHOWN = 20;

export type DecisionPage = { items: AutoscalerDecision[]; next_cursor?: string | null; limit?: number };

/** The decisions list with `decision` in it: a repeat replaces its row, a new one goes first. */
export function withDecision(page: DecisionPage, decision: AutoscalerDecision): DecisionPage {
  const known = page.items.some((d) => d.id === decision.id);
  const items = known
    ? page.items.map((d) => (d.id === decision.id ? decision : d))
    : [decision, ...page.items].slice(0, DECISIONS_SHOWN);
  return { ...page, items };
}

export function replicasQuery(agentId: string) {
  return queryOptions({
    queryKey: fleetKeys.replicas(agentId),
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/agents/{agent_id}/replicas", {
          params: { path: { agent_id: agentId }, query: { limit: 100 } },
          signal,
        }),
      ),
  });
}

export function outputQuery(agentId: string, limit = 200) {
  return queryOptions({
    queryKey: fleetKeys.output(agentId),
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/agents/{agent_id}/output", {
          params: { path: { agent_id: agentId }, query: { limit } },
          signal,
        }),
      ),
  });
}

export function decisionsQuery(agentId: string) {
  return queryOptions({
    queryKey: fleetKeys.decisions(agentId),
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/agents/{agent_id}/autoscaler/decisions", {
          params: { path: { agent_id: agentId }, query: { limit: DECISIONS_SHOWN } },
          signal,
        }),
      ),
  });
}

export function agentDeploymentsQuery(agentId: string) {
  return queryOptions({
    queryKey: fleetKeys.agentDeployments(agentId),
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/agents/{agent_id}/deployments", {
          params: { path: { agent_id: agentId }, query: { limit: 20 } },
          signal,
        }),
      ),
  });
}

export function deploymentsQuery(filters: DeploymentFilters) {
  return infiniteQueryOptions({
    ...cursorPaging,
    queryKey: fleetKeys.list(filters),
    placeholderData: keepPreviousData,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/deployments", {
          params: {
            query: {
              status: filters.status ? [filters.status] : undefined,
              triggered_by: filters.triggered_by ? [filters.triggered_by] : undefined,
              version: filters.version.trim() || undefined,
              agent_id: filters.agent_id || undefined,
              limit: PAGE_SIZE,
              cursor: pageParam ?? undefined,
            },
          },
          signal,
        }),
      ),
  });
}

export function deploymentQuery(id: string) {
  return queryOptions({
    queryKey: fleetKeys.deployment(id),
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/deployments/{deployment_id}", { params: { path: { deployment_id: id } }, signal })),
  });
}

export function diffQuery(id: string, base: string | null) {
  return queryOptions({
    queryKey: fleetKeys.diff(id, base),
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/deployments/{deployment_id}/diff", {
          params: { path: { deployment_id: id }, query: { base: base ?? undefined } },
          signal,
        }),
      ),
  });
}

// ---- writes ---------------------------------------------------------------------------------

export type LifecycleAction = "start" | "stop" | "restart";

export function lifecycle(agentId: string, action: LifecycleAction) {
  const params = { params: { path: { agent_id: agentId } } };
  if (action === "start") return unwrapWithEtag(api.POST("/api/v1/agents/{agent_id}/start", params));
  if (action === "stop") return unwrapWithEtag(api.POST("/api/v1/agents/{agent_id}/stop", params));
  return unwrapWithEtag(api.POST("/api/v1/agents/{agent_id}/restart", params));
}

export function scaleAgent(agentId: string, replicas: number) {
  return unwrapWithEtag(
    api.POST("/api/v1/agents/{agent_id}/scale", {
      params: { path: { agent_id: agentId } },
      body: { replicas },
    }),
  );
}

export function createDeployment(agentId: string, body: DeploymentCreate) {
  return unwrap(
    api.POST("/api/v1/agents/{agent_id}/deployments", { params: { path: { agent_id: agentId } }, body }),
  );
}

export function rollbackDeployment(id: string) {
  return unwrap(api.POST("/api/v1/deployments/{deployment_id}/rollback", { params: { path: { deployment_id: id } } }));
}
