import { describe, expect, it } from "vitest";
import { histogramColumns } from "./logHistogram";

const zero = { DEBUG: 0, INFO: 0, WARNING: 0, ERROR: 0, CRITICAL: 0 };

describe("histogramColumns", () => {
  it("fills empty buckets and stacks severities with the total on top", () => {
    const columns = histogramColumns(
      {
        query: "",
        start: "1970-01-01T00:01:40Z",
        end: "1970-01-01T00:05:00Z",
        step_seconds: 60,
        buckets: [
          { ts: "1970-01-01T00:02:00Z", counts: { ...zero, INFO: 3, ERROR: 1 }, total: 4 },
          { ts: "1970-01-01T00:04:00Z", counts: { ...zero, DEBUG: 2 }, total: 2 },
        ],
      },
      [100, 300],
    );
    expect(columns.xs).toEqual([60, 120, 180, 240]);
    expect(columns.counts.INFO).toEqual([0, 3, 0, 0]);
    expect(columns.order).toEqual(["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"]);
    // stacks: CRITICAL's column is the total, DEBUG's only DEBUG
    expect(columns.data[1]).toEqual([0, 4, 0, 2]);
    expect(columns.data[4]).toEqual([0, 3, 0, 2]);
    expect(columns.data[5]).toEqual([0, 0, 0, 2]);
    expect(columns.totals).toEqual({ ...zero, INFO: 3, ERROR: 1, DEBUG: 2 });
  });
});
