import { describe, expect, it } from "vitest";
import type { LogLine } from "../api/logs";
import { EMPTY_TAIL, listRows, receive, resume } from "./logTail";

function line(id: string): LogLine {
  return {
    id,
    ts: "2026-01-02T03:04:05.000000000Z",
    service: "api",
    severity: "INFO",
    agent: "",
    message: `line ${id}`,
    labels: {},
    trace_id: "",
    span_id: "",
    truncated: false,
    template_id: null,
  };
}

const keys = (rows: { key: string }[]): string[] => rows.map((r) => r.key);

describe("the live tail buffer", () => {
  it("puts each frame's lines on top, newest first, without repeating a line", () => {
    let t = receive(EMPTY_TAIL, { lines: [line("a"), line("b")], dropped: 0 }, false);
    t = receive(t, { lines: [line("b"), line("c")], dropped: 0 }, false);
    expect(keys(t.shown)).toEqual(["c", "b", "a"]);
    // the search's copy of a line the tail brought is left out
    expect(keys(listRows(t, [line("a"), line("z")]))).toEqual(["c", "b", "a", "z"]);
  });

  it("marks where the server dropped lines", () => {
    const t = receive(EMPTY_TAIL, { lines: [line("a")], dropped: 42 }, false);
    expect(t.shown.map((r) => r.kind)).toEqual(["line", "marker"]);
    expect(t.shown[1]).toMatchObject({ kind: "marker", text: expect.stringContaining("42 lines dropped") as string });
  });

  it("holds lines while paused and counts them, then resumes on top", () => {
    let t = receive(EMPTY_TAIL, { lines: [line("a")], dropped: 0 }, false);
    t = receive(t, { lines: [line("b"), line("c")], dropped: 0 }, true);
    expect(keys(t.shown)).toEqual(["a"]);
    expect(t.pendingLines).toBe(2);
    t = resume(t);
    expect(keys(t.shown)).toEqual(["c", "b", "a"]);
    expect(t.pendingLines).toBe(0);
  });

  it("keeps a bounded view and says how many lines it let go", () => {
    let t = EMPTY_TAIL;
    for (let i = 0; i < 5; i += 1) t = receive(t, { lines: [line(`l${i}`)], dropped: 0 }, false, 3);
    expect(keys(t.shown)).toEqual(["l4", "l3", "l2"]);
    expect(t.trimmed).toBe(2);
    expect(listRows(t, []).at(-1)).toMatchObject({ kind: "marker", key: "trimmed" });
  });
});
