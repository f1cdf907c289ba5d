import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/problem";
import { QueryStates, type QueryState } from "./QueryStates";

function state(patch: Partial<QueryState>): QueryState {
  return { isPending: false, isError: false, error: null, refetch: () => undefined, ...patch };
}

const empty = <p>Nothing here</p>;

describe("QueryStates", () => {
  it("shows a spinner while the first page loads", () => {
    render(
      <QueryStates query={state({ isPending: true })} isEmpty empty={empty}>
        <p>rows</p>
      </QueryStates>,
    );
    expect(screen.getByRole("status", { name: "Loading" })).toBeInTheDocument();
    expect(screen.queryByText("Nothing here")).not.toBeInTheDocument();
    expect(screen.queryByText("rows")).not.toBeInTheDocument();
  });

  it("shows the empty state without rows and the rows otherwise", () => {
    const { rerender } = render(
      <QueryStates query={state({})} isEmpty empty={empty}>
        <p>rows</p>
      </QueryStates>,
    );
    expect(screen.getByText("Nothing here")).toBeInTheDocument();
    expect(screen.queryByText("rows")).not.toBeInTheDocument();
    rerender(
      <QueryStates query={state({})} isEmpty={false} empty={empty}>
        <p>rows</p>
      </QueryStates>,
    );
    expect(screen.getByText("rows")).toBeInTheDocument();
    expect(screen.queryByText("Nothing here")).not.toBeInTheDocument();
  });

  it("shows a failure with Retry instead of the empty state, and retries on click", () => {
    const refetch = vi.fn();
    const error = ApiError.from(503, { type: "about:blank", title: "Service unavailable", status: 503, detail: "The store is down." });
    render(
      <QueryStates query={state({ isError: true, error, refetch })} isEmpty empty={empty}>
        <p>rows</p>
      </QueryStates>,
    );
    expect(screen.getByRole("alert")).toHaveTextContent("The store is down.");
    expect(screen.queryByText("Nothing here")).not.toBeInTheDocument();
    fireEvent.click(screen.getByRole("button", { name: "Retry" }));
    expect(refetch).toHaveBeenCalledTimes(1);
  });

  it("keeps the rows it has above a failed refresh", () => {
    render(
      <QueryStates query={state({ isError: true, error: new Error("offline") })} isEmpty={false} empty={empty}>
        <p>rows</p>
      </QueryStates>,
    );
    expect(screen.getByRole("alert")).toHaveTextContent("Offline");
    expect(screen.getByText("rows")).toBeInTheDocument();
  });
});
