import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { renderAt } from "../../test/render";
import { TemplateDetailPage } from "./TemplateDetailPage";
import { TemplatesPage } from "./TemplatesPage";

let calls: URL[];

function json(body: unknown, status = 200): Promise<Response> {
  const type = status === 200 ? "application/json" : "application/problem+json";
  return Promise.resolve(new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } }));
}

const TEMPLATE = {
  id: 3,
  template: "Receiving block <*> src: <*>",
  count: 1234,
  first_seen: "2026-01-02T01:00:00Z",
  last_seen: "2026-01-02T02:59:00Z",
  services: ["hdfs", "dn-1", "dn-2", "dn-3"],
  samples: ["Receiving block blk_1 src: /10.0.0.1"],
  trend: [0, 0, 5, 10],
  trend_start: "2026-01-01T23:00:00Z",
  trend_step_seconds: 3600,
  merged_ids: [7],
  rising: 2.5,
};

beforeEach(() => {
  calls = [];
  vi.stubGlobal("fetch", (request: Request) => {
    const url = new URL(request.url);
    calls.push(url);
    if (url.pathname === "/api/v1/logs/templates") return json({ items: [TEMPLATE], next_cursor: null, limit: 50 });
    if (url.pathname === "/api/v1/logs/templates/7") return json(TEMPLATE);
    if (url.pathname === "/api/v1/logs/templates/9")
      return json({ type: "/problems/not-found", title: "Not found", status: 404, detail: "no template 9" }, 404);
    return json({}, 404);
  });
});
afterEach(() => vi.unstubAllGlobals());

const routes = [
  { path: "/templates", element: <TemplatesPage /> },
  { path: "/templates/:templateId", element: <TemplateDetailPage /> },
];
const lists = (): URL[] => calls.filter((u) => u.pathname === "/api/v1/logs/templates");

describe("the Templates page", () => {
  it("lists the templates with counts, trend and sample, sorted as the address says", async () => {
    renderAt("/templates?sort=rising", routes, "viewer");
    const table = await screen.findByRole("table", { name: "Templates" });
    const row = within(table).getAllByRole("row")[1];
    expect(row).toHaveTextContent("#3");
    expect(row).toHaveTextContent("1,234");
    expect(row).toHaveTextContent("×2.5");
    expect(row).toHaveTextContent("Receiving block blk_1 src: /10.0.0.1");
    expect(row).toHaveTextContent("+1");
    expect(within(row!).getByRole("img", { name: /^15 lines over the last 4 hours; 10 this hour/ })).toBeInTheDocument();
    expect(lists()[0]?.searchParams.get("sort")).toBe("rising");
    const lines = within(row!).getByRole("link", { name: "Lines of template 3" });
    const q = new URLSearchParams(lines.getAttribute("href")?.split("?")[1]).get("q");
    expect(q).toBe('{template=~"3|7"}');
    expect(within(row!).getByRole("link", { name: /Receiving block/ })).toHaveAttribute("href", "/templates/3");

    fireEvent.click(screen.getByRole("button", { name: "Top" }));
    await waitFor(() => expect(lists().at(-1)?.searchParams.get("sort")).toBe("count"));
  });

  it("shows a merged id's template with its lines link", async () => {
    renderAt("/templates/7", routes, "viewer");
    expect(await screen.findByRole("heading", { name: "Template #3" })).toBeInTheDocument();
    expect(screen.getByText("Template #7 was merged into this one.")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Show its lines" }).getAttribute("href")).toContain("range=7d");
  });

  it("says when a template does not exist", async () => {
    renderAt("/templates/9", routes, "viewer");
    expect(await screen.findByText("This template does not exist")).toBeInTheDocument();
  });
});
