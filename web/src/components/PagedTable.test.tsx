import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { PagedTable, QueryTable } from "./PagedTable";

type Query = Parameters<typeof PagedTable>[0]["query"];

function query(patch: Partial<Query>): Query {
  return {
    isPending: false,
    isError: false,
    error: null,
    refetch: () => undefined,
    hasNextPage: false,
    isFetching: false,
    isFetchingNextPage: false,
    fetchNextPage: () => undefined,
    ...patch,
  };
}

const head = <th>Name</th>;
const empty = <p>Nothing here</p>;

describe("PagedTable", () => {
  it("keeps the rows and Load more below a failed next page, to try it again", () => {
    const fetchNextPage = vi.fn();
    render(
      <PagedTable query={query({ isError: true, error: new Error("offline"), hasNextPage: true, fetchNextPage })} count={1} label="Keys" head={head} empty={empty}>
        <tr>
          <td>ci</td>
        </tr>
      </PagedTable>,
    );
    expect(screen.getByRole("alert")).toHaveTextContent("Offline");
    expect(screen.getByRole("table", { name: "Keys" })).toHaveTextContent("ci");
    fireEvent.click(screen.getByRole("button", { name: "Load more" }));
    expect(fetchNextPage).toHaveBeenCalledTimes(1);
  });

  it("shows the empty state without rows, and neither it nor the table below a failure", () => {
    const { rerender } = render(
      <PagedTable query={query({})} count={0} label="Keys" head={head} empty={empty} noun={["key", "keys"]}>
        {null}
      </PagedTable>,
    );
    expect(screen.getByText("Nothing here")).toBeInTheDocument();
    expect(screen.queryByRole("table")).not.toBeInTheDocument();
    expect(screen.queryByText(/0 keys/)).not.toBeInTheDocument();
    rerender(
      <PagedTable query={query({ isError: true, error: new Error("offline") })} count={0} label="Keys" head={head} empty={empty}>
        {null}
      </PagedTable>,
    );
    expect(screen.getByRole("alert")).toHaveTextContent("Offline");
    expect(screen.queryByText("Nothing here")).not.toBeInTheDocument();
    expect(screen.queryByRole("table")).not.toBeInTheDocument();
  });

  it("without an empty state keeps the table's head, also below a failure", () => {
    render(
      <PagedTable query={query({ isError: true, error: new Error("offline") })} count={0} label="Users" head={head}>
        {null}
      </PagedTable>,
    );
    expect(screen.getByRole("alert")).toHaveTextContent("Offline");
    expect(screen.getByRole("columnheader", { name: "Name" })).toBeInTheDocument();
  });

  it("shows a spinner and no foot while the first page loads", () => {
    render(
      <PagedTable query={query({ isPending: true, isFetching: true })} count={0} label="Users" head={head} noun={["user", "users"]}>
        {null}
      </PagedTable>,
    );
    expect(screen.getByRole("status", { name: "Loading" })).toBeInTheDocument();
    expect(screen.queryByRole("table")).not.toBeInTheDocument();
    expect(screen.queryByText(/users/)).not.toBeInTheDocument();
  });

  it("takes the rows in groups as the table's own bodies, and counts every row in the foot", () => {
    render(
      <PagedTable query={query({})} count={3} label="Alerts" head={head} noun={["alert", "alerts"]} grouped>
        <tbody aria-label="team=ops">
          <tr>
            <td>a</td>
          </tr>
          <tr>
            <td>b</td>
          </tr>
        </tbody>
        <tbody aria-label="team=ml">
          <tr>
            <td>c</td>
          </tr>
        </tbody>
      </PagedTable>,
    );
    const table = screen.getByRole("table", { name: "Alerts" });
    expect(table.querySelectorAll(":scope > tbody")).toHaveLength(2);
    expect(screen.getByRole("rowgroup", { name: "team=ml" })).toHaveTextContent("c");
    expect(screen.getByText("3 alerts")).toBeInTheDocument();
  });

  it("as a QueryTable (no pages) shows the rows and no foot", () => {
    render(
      <QueryTable query={query({})} count={1} label="Receivers" head={head} empty={empty}>
        <tr>
          <td>oncall</td>
        </tr>
      </QueryTable>,
    );
    expect(screen.getByRole("table", { name: "Receivers" })).toHaveTextContent("oncall");
    expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();
  });
});
