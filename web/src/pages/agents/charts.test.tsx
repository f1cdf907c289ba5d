import { screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { renderAt } from "../../test/render";
import { AgentCharts } from "./AgentCharts";
import { rateWindow } from "./agentPanels";

let queries: string[];

beforeEach(() => {
  queries = [];
  vi.stubGlobal("fetch", (request: Request) => {
    const url = new URL(request.url);
    queries.push(url.searchParams.get("query") ?? "");
    const body = queries.at(-1)?.includes("agent_cpu_percent")
      ? { status: "error", errorType: "bad_data", error: "store unavailable" }
      : { status: "success", data: { resultType: "matrix", result: [] } };
    return Promise.resolve(new Response(JSON.stringify(body), { status: body.status === "error" ? 400 : 200 }));
  });
});
afterEach(() => vi.unstubAllGlobals());

describe("agent charts", () => {
  it("queries each panel on the agent's label and shows empty and failed panels", async () => {
    renderAt("/a", [{ path: "/a", element: <AgentCharts agent={'odd"name'} /> }], "viewer");
    await waitFor(() => expect(queries.length).toBeGreaterThanOrEqual(10));
    const sel = '{agent="odd\\"name"}';
    expect(queries).toContain(`avg(agent_cpu_percent${sel})`);
    expect(queries).toContain(`sum(rate(agent_requests_total${sel}[2m]))`);
    expect(queries).toContain(
      `histogram_quantile(0.99, sum by (le) (rate(agent_request_duration_seconds_bucket${sel}[2m])))`,
    );
    expect(await screen.findByText("store unavailable")).toBeInTheDocument();
    expect((await screen.findAllByText("No data in this range")).length).toBeGreaterThanOrEqual(6);
  });

  it("widens the rate window with the step", () => {
    expect(rateWindow(15)).toBe("1m");
    expect(rateWindow(300)).toBe("20m");
    expect(rateWindow(3600)).toBe("4h");
  });
});
