import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { renderAt } from "../../test/render";
import { LogsPage } from "./LogsPage";

let calls: URL[];
let searchAnswer: { status: number; body: unknown };

function json(body: unknown, status = 200, type = "application/json"): Promise<Response> {
  return Promise.resolve(new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } }));
}

beforeEach(() => {
  calls = [];
  searchAnswer = {
    status: 200,
    body: { items: [], next_cursor: null, limit: 200, query: "", start: "2026-01-02T02:00:00Z", end: "2026-01-02T03:00:00Z", direction: "backward" },
  };
  vi.stubGlobal("fetch", (request: Request) => {
    const url = new URL(request.url);
    calls.push(url);
    if (url.pathname === "/api/v1/logs") return json(searchAnswer.body, searchAnswer.status, searchAnswer.status === 200 ? "application/json" : "application/problem+json");
    if (url.pathname === "/api/v1/logs/histogram")
      return json({ query: "", start: "", end: "", step_seconds: 30, buckets: [] });
    if (url.pathname === "/api/v1/logs/labels") return json({ names: ["agent", "service", "severity"] });
    if (url.pathname === "/api/v1/logs/labels/service/values")
      return json({ name: "service", values: ["checkout", "search"], limit: 200 });
    return json({}, 404);
  });
});
afterEach(() => vi.unstubAllGlobals());

const routes = [{ path: "/logs", element: <LogsPage /> }];
const searches = (): URL[] => calls.filter((u) => u.pathname === "/api/v1/logs");

describe("the Logs page", () => {
  it("searches what the address says and explains how to send logs when there are none", async () => {
    renderAt("/logs?range=15m", routes, "viewer");
    expect(await screen.findByText("No logs in this range yet")).toBeInTheDocument();
    const call = searches()[0];
    const span = Date.parse(call?.searchParams.get("end") ?? "") - Date.parse(call?.searchParams.get("start") ?? "");
    expect(span).toBe(15 * 60 * 1000);
    expect(call?.searchParams.get("query")).toBe("");
    expect(screen.getByLabelText("curl (JSON batch)")).toHaveTextContent("/api/v1/logs/batch");
    fireEvent.click(screen.getByRole("button", { name: "Promtail / Alloy (Loki push)" }));
    expect(screen.getByLabelText("Promtail / Alloy (Loki push)")).toHaveTextContent("/loki/api/v1/push");
  });

  it("shows the server's problem and marks where the query went wrong", async () => {
    searchAnswer = {
      status: 400,
      body: {
        type: "/problems/invalid-query",
        title: "Malformed",
        status: 400,
        detail: "the query cannot be read (at position 9): expected a quoted string",
        position: 9,
      },
    };
    renderAt(`/logs?q=${encodeURIComponent("{service=api}")}`, routes, "viewer");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The query cannot be read (at position 9): expected a quoted string");
    expect(within(alert).getByText("a", { selector: "mark" })).toBeInTheDocument();
    expect(screen.getByLabelText("Log query")).toHaveAttribute("aria-invalid", "true");
    expect(screen.queryByText("No logs in this range yet")).not.toBeInTheDocument();
  });

  it("completes label names, then their values", async () => {
    renderAt("/logs", routes, "viewer");
    const bar = screen.getByLabelText("Log query");
    fireEvent.change(bar, { target: { value: "{ser", selectionStart: 4 } });
    const list = await screen.findByRole("listbox", { name: "Suggestions" });
    fireEvent.mouseDown(within(list).getByRole("option", { name: "service" }));
    expect(bar).toHaveValue('{service=""');
    const values = await screen.findByRole("option", { name: "search" });
    fireEvent.mouseDown(values);
    expect(bar).toHaveValue('{service="search"');
  });

  it("runs the typed query and keeps it in the address", async () => {
    renderAt("/logs", routes, "viewer");
    await waitFor(() => expect(searches()).toHaveLength(1));
    const bar = screen.getByLabelText("Log query");
    fireEvent.change(bar, { target: { value: '{service="x"} |= "boom"', selectionStart: 0 } });
    fireEvent.keyDown(bar, { key: "Enter" });
    await waitFor(() => expect(searches().at(-1)?.searchParams.get("query")).toBe('{service="x"} |= "boom"'));
    expect(await screen.findByText("No lines match")).toBeInTheDocument();
  });
});
