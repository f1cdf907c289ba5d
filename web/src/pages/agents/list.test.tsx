import { fireEvent, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AgentPublic } from "../../api/types";
import { renderAt } from "../../test/render";
import { AgentsListPage } from "./AgentsListPage";

function agent(n: number): AgentPublic {
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    tenant_id: "t-1",
    owner_id: null,
    name: `agent-${n}`,
    type: "llm",
    description: "",
    model: null,
    version: "1.0.0",
    config: {},
    metadata: {},
    labels: {},
    dependencies: [],
    replica_count: 1,
    cpu_limit: "500m",
    memory_limit: "512Mi",
    status: "running",
    revision: 1,
    created_at: "2025-01-01T00:00:00Z",
    updated_at: "2025-01-01T00:00:00Z",
    last_health_check: null,
    last_seen_at: null,
  };
}

let queries: URLSearchParams[];

beforeEach(() => {
  queries = [];
  vi.stubGlobal("fetch", (request: Request) => {
    const url = new URL(request.url);
    queries.push(url.searchParams);
    const second = url.searchParams.get("cursor") === "page-2";
    const body = second
      ? { items: [agent(3)], next_cursor: null, limit: 50 }
      : { items: [agent(1), agent(2)], next_cursor: "page-2", limit: 50 };
    return Promise.resolve(
      new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } }),
    );
  });
});
afterEach(() => vi.unstubAllGlobals());

const routes = [{ path: "/agents", element: <AgentsListPage /> }];

describe("agents list", () => {
  it("loads the next page with the cursor and appends it", async () => {
    renderAt("/agents", routes, "viewer");
    expect(await screen.findByText("agent-2")).toBeInTheDocument();
    expect(screen.getByText("2 agents shown")).toBeInTheDocument();
    fireEvent.click(screen.getByRole("button", { name: "Load more" }));
    expect(await screen.findByText("agent-3")).toBeInTheDocument();
    expect(screen.getByText("agent-1")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();
    expect(queries.at(-1)?.get("cursor")).toBe("page-2");
  });

  it("sorts by a column header and sends filters from the address", async () => {
    renderAt("/agents?status=running&label=env%3Dprod&type=llm", routes, "viewer");
    await screen.findByText("agent-1");
    const first = queries[0]!;
    expect(first.getAll("status")).toEqual(["running"]);
    expect(first.getAll("type")).toEqual(["llm"]);
    expect(first.get("label")).toBe("env=prod");
    expect(first.get("sort")).toBe("-created_at");
    fireEvent.click(screen.getByRole("button", { name: "Name" }));
    await waitFor(() => expect(queries.at(-1)?.get("sort")).toBe("name"));
    fireEvent.click(screen.getByRole("button", { name: /Name/ }));
    await waitFor(() => expect(queries.at(-1)?.get("sort")).toBe("-name"));
  });

  it("ignores unknown filter values in the address", async () => {
    renderAt("/agents?status=bogus&sort=drop-table", routes, "viewer");
    await screen.findByText("agent-1");
    expect(queries[0]!.has("status")).toBe(false);
    expect(queries[0]!.get("sort")).toBe("-created_at");
  });
});
