import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { renderAt } from "../../test/render";
import { ExplorePage } from "./ExplorePage";

let calls: URL[];
let rangeAnswer: { status: number; body: unknown };

function json(body: unknown, status = 200): Promise<Response> {
  return Promise.resolve(new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } }));
}

beforeEach(() => {
  calls = [];
  rangeAnswer = {
    status: 200,
    body: {
      status: "success",
      data: {
        resultType: "matrix",
        result: [
          { metric: { __name__: "agent_cpu_percent", agent: "a1" }, values: [[100, "1.5"], [115, "2.5"]] },
          { metric: { __name__: "agent_cpu_percent", agent: "a2" }, values: [[100, "7"]] },
        ],
      },
    },
  };
  vi.stubGlobal("fetch", (request: Request) => {
    const url = new URL(request.url);
    calls.push(url);
    if (url.pathname === "/api/v1/label/__name__/values")
      return json({ status: "success", data: ["agent_cpu_percent", "agent_memory_percent", "up"] });
    if (url.pathname === "/api/v1/labels") return json({ status: "success", data: ["__name__", "agent", "env"] });
    if (url.pathname === "/api/v1/series")
      return json({
        status: "success",
        data: [
          { __name__: "agent_cpu_percent", agent: "a1", env: "prod" },
          { __name__: "agent_cpu_percent", agent: "a2", env: "dev" },
        ],
      });
    if (url.pathname === "/api/v1/query_range") return json(rangeAnswer.body, rangeAnswer.status);
    return json({}, 404);
  });
});
afterEach(() => vi.unstubAllGlobals());

const routes = [{ path: "/explore", element: <ExplorePage /> }];
const rangeCalls = (): URL[] => calls.filter((u) => u.pathname === "/api/v1/query_range");

describe("metrics explorer", () => {
  it("runs the query from the address and shows a table of series", async () => {
    renderAt("/explore?q=agent_cpu_percent&range=6h&step=1m&view=table", routes, "viewer");
    const table = await screen.findByRole("table", { name: "Query result" });
    expect(within(table).getByText('agent_cpu_percent{agent="a1"}')).toBeInTheDocument();
    expect(within(table).getByText('agent_cpu_percent{agent="a2"}')).toBeInTheDocument();
    const call = rangeCalls()[0];
    expect(call?.searchParams.get("query")).toBe("agent_cpu_percent");
    expect(call?.searchParams.get("step")).toBe("60");
    const start = Number(call?.searchParams.get("start"));
    const end = Number(call?.searchParams.get("end"));
    expect(end - start).toBe(6 * 3600);
    expect(screen.getByLabelText("PromQL query")).toHaveValue("agent_cpu_percent");
  });

  it("shows the API's error message", async () => {
    rangeAnswer = { status: 400, body: { status: "error", errorType: "bad_data", error: 'unsupported function "holt_winters"' } };
    renderAt("/explore?q=holt_winters(up[5m],0.5,0.5)", routes, "viewer");
    expect(await screen.findByRole("alert")).toHaveTextContent('Unsupported function "holt_winters"');
  });

  it("picks a metric, filters by label and completes names in the editor", async () => {
    renderAt("/explore", routes, "viewer");
    fireEvent.change(await screen.findByLabelText("Search metrics"), { target: { value: "memory" } });
    await waitFor(() => expect(screen.queryByRole("option", { name: "agent_cpu_percent" })).not.toBeInTheDocument());
    fireEvent.change(screen.getByLabelText("Search metrics"), { target: { value: "" } });
    fireEvent.click(await screen.findByRole("option", { name: "agent_cpu_percent" }));
    await waitFor(() => expect(rangeCalls().at(-1)?.searchParams.get("query")).toBe("agent_cpu_percent"));

    fireEvent.change(await screen.findByLabelText("Label env"), { target: { value: "prod" } });
    await waitFor(() => expect(rangeCalls().at(-1)?.searchParams.get("query")).toBe('agent_cpu_percent{env="prod"}'));

    const editor = screen.getByLabelText("PromQL query");
    fireEvent.change(editor, { target: { value: "rate(agent_me", selectionStart: 13 } });
    const suggestions = await screen.findByRole("listbox", { name: "Suggestions" });
    const option = within(suggestions).getByRole("option", { name: "agent_memory_percent" });
    fireEvent.mouseDown(option);
    expect(editor).toHaveValue("rate(agent_memory_percent");
  });
});
