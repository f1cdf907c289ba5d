import { fireEvent, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderAt } from "../../test/render";
import { AgentCharts } from "./AgentCharts";

function answer(failCpu: boolean): void {
  vi.stubGlobal("fetch", (request: Request) => {
    const query = new URL(request.url).searchParams.get("query") ?? "";
    const body =
      failCpu && query.includes("agent_cpu_percent")
        ? { status: "error", errorType: "bad_data", error: "store unavailable" }
        : { status: "success", data: { resultType: "matrix", result: [] } };
    return Promise.resolve(new Response(JSON.stringify(body), { status: body.status === "error" ? 400 : 200 }));
  });
}
afterEach(() => vi.unstubAllGlobals());

describe("an agent without telemetry", () => {
  it("shows how to send metrics with the agent's name filled in", async () => {
    answer(false);
    renderAt("/a", [{ path: "/a", element: <AgentCharts agent="classifier-eu" /> }], "viewer");
    expect(await screen.findByText("No telemetry from classifier-eu yet")).toBeInTheDocument();
    expect(screen.getByLabelText("Python SDK").textContent).toContain('agent="classifier-eu"');
    fireEvent.click(screen.getByRole("button", { name: "curl" }));
    const curl = screen.getByLabelText("curl").textContent;
    expect(curl).toContain('"labels": {"agent": "classifier-eu"}');
    expect(curl).toContain(`${window.location.origin}/api/v1/metrics/batch`);
    fireEvent.click(screen.getByRole("button", { name: "OpenTelemetry (OTLP/HTTP)" }));
    expect(screen.getByLabelText("OpenTelemetry (OTLP/HTTP)").textContent).toContain(
      "OTEL_SERVICE_NAME=classifier-eu",
    );
  });

  it("does not claim there is no data when a query failed", async () => {
    answer(true);
    renderAt("/a", [{ path: "/a", element: <AgentCharts agent="bot" /> }], "viewer");
    expect(await screen.findByText("store unavailable")).toBeInTheDocument();
    await waitFor(() => expect(screen.queryAllByText("No data in this range").length).toBeGreaterThan(0));
    expect(screen.queryByText("No telemetry from bot yet")).not.toBeInTheDocument();
  });
});
