import { fireEvent, render, screen } from "@testing-library/react";
import { useState, type ReactNode } from "react";
import { describe, expect, it } from "vitest";
import { ConfirmFor } from "../components/ui";
import { useConfirm } from "./useConfirm";

interface Row {
  id: string;
  name: string;
}
const ROWS: Row[] = [
  { id: "k1", name: "first" },
  { id: "k2", name: "second" },
];

function Page(): ReactNode {
  const revoking = useConfirm<Row>();
  const [done, setDone] = useState<string[]>([]);
  return (
    <>
      <output aria-label="done">{done.join(",")}</output>
      {ROWS.map((r) => (
        <button key={r.id} type="button" onClick={() => revoking.ask(r)}>
          Revoke {r.name}
        </button>
      ))}
      <ConfirmFor
        confirm={revoking}
        title={(r) => `Revoke ${r.name}?`}
        confirmLabel="Revoke key"
        onConfirm={(r) => {
          setDone((d) => [...d, r.id]);
          revoking.close();
        }}
      >
        <p>This cannot be undone.</p>
      </ConfirmFor>
    </>
  );
}

describe("useConfirm with ConfirmFor", () => {
  it("asks about the row clicked and acts on that row only", () => {
    render(<Page />);
    expect(screen.queryByText("Revoke second?")).toBeNull();
    fireEvent.click(screen.getByText("Revoke second"));
    expect(screen.getByText("Revoke second?")).toBeTruthy();
    expect(screen.queryByText("Revoke first?")).toBeNull();
    fireEvent.click(screen.getByText("Revoke key"));
    expect(screen.getByLabelText("done").textContent).toBe("k2");
    expect(screen.queryByText("Revoke second?")).toBeNull();
  });

  it("cancel closes without acting", () => {
    render(<Page />);
    fireEvent.click(screen.getByText("Revoke first"));
    expect(screen.getByText("Revoke first?")).toBeTruthy();
    fireEvent.click(screen.getByText("Cancel"));
    expect(screen.queryByText("Revoke first?")).toBeNull();
    expect(screen.getByLabelText("done").textContent).toBe("");
  });
});
