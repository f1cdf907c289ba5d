import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import { createMemoryRouter, RouterProvider, useLocation } from "react-router";
import { describe, expect, it } from "vitest";
import { useFilterText, useUrlFilters } from "./useUrlFilters";

interface Filters {
  sort: string;
  status: string;
  q: string;
}
const DEFAULTS: Filters = { sort: "name", status: "", q: "" };

function parse(params: URLSearchParams): Filters {
  return { sort: params.get("sort") ?? DEFAULTS.sort, status: params.get("status") ?? "", q: params.get("q") ?? "" };
}

function List(): ReactNode {
  const { filters, update, clear } = useUrlFilters(parse, DEFAULTS);
  const [text, setText] = useFilterText(filters.q, (q) => update({ q }), 50);
  const location = useLocation();
  return (
    <>
      <output aria-label="address">{location.search}</output>
      <input aria-label="Search" value={text} onChange={(e) => setText(e.target.value)} />
      <button type="button" onClick={() => update({ sort: "-name" })}>
        Sort
      </button>
      <button type="button" onClick={() => update({ sort: "name" })}>
        Default sort
      </button>
      <button
        type="button"
        onClick={() => {
          update({ status: "active" });
          update({ sort: "created_at" });
        }}
      >
        Both
      </button>
      <button
        type="button"
        onClick={() => {
          setText("");
          clear();
        }}
      >
        Clear
      </button>
    </>
  );
}

function renderAt(path: string): void {
  const router = createMemoryRouter([{ path: "/list", element: <List /> }], { initialEntries: [path] });
  render(<RouterProvider router={router} />);
}

const address = (): string => screen.getByRole("status", { name: "address" }).textContent;

describe("filters kept in the address", () => {
  it("writes the set filters in order and leaves out the defaults", () => {
    renderAt("/list?status=active");
    fireEvent.click(screen.getByRole("button", { name: "Sort" }));
    expect(address()).toBe("?sort=-name&status=active");
    fireEvent.click(screen.getByRole("button", { name: "Default sort" }));
    expect(address()).toBe("?status=active");
  });

  it("keeps both of two changes made before the address changed", () => {
    renderAt("/list");
    fireEvent.click(screen.getByRole("button", { name: "Both" }));
    expect(address()).toBe("?sort=created_at&status=active");
  });

  it("puts typed text in the address once it settles, and Clear empties both", async () => {
    renderAt("/list?sort=-name");
    fireEvent.change(screen.getByRole("textbox", { name: "Search" }), { target: { value: "pay" } });
    expect(address()).toBe("?sort=-name");
    await waitFor(() => expect(address()).toBe("?sort=-name&q=pay"));
    fireEvent.click(screen.getByRole("button", { name: "Clear" }));
    expect(address()).toBe("");
    expect(screen.getByRole("textbox", { name: "Search" })).toHaveValue("");
    fireEvent.change(screen.getByRole("textbox", { name: "Search" }), { target: { value: "pay" } });
    await waitFor(() => expect(address()).toBe("?q=pay"));
  });
});
