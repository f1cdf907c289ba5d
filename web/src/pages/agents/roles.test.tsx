import { screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AgentPublic } from "../../api/types";
import { renderAt } from "../../test/render";
import { SettingsLayout } from "../settings/SettingsLayout";
import { AgentDetailPage } from "./AgentDetailPage";
import { AgentsListPage } from "./AgentsListPage";

const agent: AgentPublic = {
  id: "4f0c3c86-0c43-4d1a-9d0e-2f7a5f1f7c11",
  tenant_id: "t-1",
  owner_id: null,
  name: "support-triage",
  type: "llm",
  description: "Routes tickets",
  model: null,
  version: "1.0.0",
  config: {},
  metadata: {},
  labels: { team: "support" },
  dependencies: [],
  replica_count: 1,
  cpu_limit: "500m",
  memory_limit: "512Mi",
  status: "error",
  revision: 1,
  created_at: "2025-01-01T00:00:00Z",
  updated_at: "2025-01-02T00:00:00Z",
  last_health_check: null,
  last_seen_at: null,
};

beforeEach(() => {
  vi.stubGlobal("fetch", (input: Request) => {
    const path = new URL(input.url).pathname;
    const body = path.endsWith("/agents") ? { items: [agent], next_cursor: null, limit: 50 } : agent;
    return Promise.resolve(
      new Response(JSON.stringify(body), {
        status: 200,
        headers: { "Content-Type": "application/json", ETag: '"1"' },
      }),
    );
  });
});
afterEach(() => vi.unstubAllGlobals());

const routes = [
  { path: "/agents", element: <AgentsListPage /> },
  { path: "/agents/:agentId", element: <AgentDetailPage /> },
  { path: "/settings", element: <SettingsLayout /> },
];

describe("role-aware agent pages", () => {
  it("a viewer sees the list without a create button", async () => {
    const { container } = renderAt("/agents", routes, "viewer");
    expect(await screen.findByRole("link", { name: "support-triage" })).toBeInTheDocument();
    expect(container.querySelector("[data-status]")).toHaveTextContent("error");
    expect(container.querySelector("[data-status]")).toHaveClass("badge-error");
    expect(screen.queryByRole("link", { name: /new agent/i })).not.toBeInTheDocument();
    expect(screen.queryByRole("group", { name: "Controls of support-triage" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Scale" })).not.toBeInTheDocument();
  });

  it("a developer gets the create button", async () => {
    renderAt("/agents", routes, "developer");
    expect(await screen.findByRole("link", { name: /new agent/i })).toBeInTheDocument();
    expect(await screen.findByRole("button", { name: "Stop" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Scale" })).toBeInTheDocument();
  });

  it("a viewer sees the agent without edit or delete", async () => {
    renderAt(`/agents/${agent.id}`, routes, "viewer");
    expect(await screen.findByText("Routes tickets")).toBeInTheDocument();
    expect(screen.queryByRole("link", { name: /edit/i })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /delete/i })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Deploy" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Stop" })).not.toBeInTheDocument();
  });

  it("an admin sees edit and delete", async () => {
    renderAt(`/agents/${agent.id}`, routes, "admin");
    expect(await screen.findByRole("link", { name: /edit/i })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: /delete/i })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Deploy" })).toBeInTheDocument();
    expect(screen.getByRole("group", { name: "Controls of support-triage" })).toBeInTheDocument();
  });

  it("only admins see the admin settings sections", async () => {
    const { unmount } = renderAt("/settings", routes, "developer");
    await waitFor(() => expect(screen.getByRole("link", { name: "Account" })).toBeInTheDocument());
    expect(screen.queryByRole("link", { name: "Users" })).not.toBeInTheDocument();
    expect(screen.queryByRole("link", { name: "Audit log" })).not.toBeInTheDocument();
    unmount();
    renderAt("/settings", routes, "admin");
    for (const name of ["Users", "API keys", "Tenant", "Audit log"]) {
      expect(await screen.findByRole("link", { name })).toBeInTheDocument();
    }
  });
});
