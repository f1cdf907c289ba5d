import { screen, within } from "@testing-library/react";
import { act } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AutoscalerDecision } from "../../api/fleet";
import type { AgentPublic } from "../../api/types";
import { renderAt } from "../../test/render";
import { DecisionsCard } from "./AgentRuntime";

const AGENT_ID = "00000000-0000-4000-8000-000000000001";

/** The channel handlers the card registered, by channel (the live socket stands in here). */
const handlers = new Map<string, (data: unknown) => void>();

vi.mock("../../lib/wsHooks", () => ({
  useLiveConnection: () => "live",
  useChannel: (channel: string, h: { onEvent?: (data: unknown) => void }) => {
    if (h.onEvent) handlers.set(channel, h.onEvent);
  },
}));

function decision(id: string, fields: Partial<AutoscalerDecision>): AutoscalerDecision {
  return {
    id,
    agent_id: AGENT_ID,
    at: "2026-12-07T12:00:00Z",
    last_at: "2026-12-07T12:00:00Z",
    repeats: 1,
    outcome: "hold",
    cpu_percent: 50,
    replicas: 2,
    target_replicas: 2,
    min_replicas: 1,
    max_replicas: 5,
    reason: "CPU 50.0 % is within 30–70 %",
    ...fields,
  };
}

const agent = {
  id: AGENT_ID,
  name: "busy-bot",
  status: "running",
  metadata: {},
} as unknown as AgentPublic;

let fetches = 0;

beforeEach(() => {
  fetches = 0;
  handlers.clear();
  vi.stubGlobal("fetch", () => {
    fetches += 1;
    const body = { items: [decision("d-1", {})], next_cursor: null, limit: 20 };
    return Promise.resolve(new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } }));
  });
});
afterEach(() => vi.unstubAllGlobals());

describe("autoscaler decisions card", () => {
  it("shows each decision the agent's channel brings, without reading the list again", async () => {
    renderAt("/agents/x", [{ path: "/agents/x", element: <DecisionsCard agent={agent} /> }], "viewer");
    const table = await screen.findByRole("table", { name: "Decision list" });
    expect(within(table).getByText("hold")).toBeInTheDocument();
    const send = handlers.get(`agent:${AGENT_ID}`);
    expect(send).toBeDefined();

    // the same decision again: its row counts the repeat
    act(() => send!({ action: "autoscaler", new: false, decision: decision("d-1", { repeats: 3 }) }));
    expect(await within(table).findByText("×3")).toBeInTheDocument();

    // a new one goes on top
    act(() =>
      send!({
        action: "autoscaler",
        new: true,
        decision: decision("d-2", {
          outcome: "scaled_up",
          cpu_percent: 85.5,
          target_replicas: 3,
          reason: "CPU 85.5 % > 70 %: one replica more",
        }),
      }),
    );
    await within(table).findByText("scaled_up");
    const rows = within(table).getAllByRole("row");
    expect(rows[1]).toHaveTextContent("scaled_up");
    expect(rows[1]).toHaveTextContent("2 → 3");
    expect(rows[1]).toHaveTextContent("85.5 %");
    expect(rows[2]).toHaveTextContent("hold");

    // other messages of the channel change nothing
    act(() => send!({ action: "status", status: "running" }));
    expect(within(table).getAllByRole("row")).toHaveLength(3);
    expect(fetches).toBe(1);
  });
});
