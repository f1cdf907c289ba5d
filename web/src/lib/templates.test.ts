import { describe, expect, it } from "vitest";
import { risingText, templateHref, templateLogsHref, templateQueryText } from "./templates";

describe("template links", () => {
  it("matches one id exactly, or the id with those merged into it", () => {
    expect(templateQueryText(7)).toBe('{template="7"}');
    expect(templateQueryText(3, [7, 9])).toBe('{template=~"3|7|9"}');
    expect(templateQueryText(3, [3])).toBe('{template="3"}');
  });

  it("opens the Logs page with that query over a week", () => {
    const href = templateLogsHref(3, [7]);
    const params = new URLSearchParams(href.split("?")[1]);
    expect(href.startsWith("/logs?")).toBe(true);
    expect(params.get("q")).toBe('{template=~"3|7"}');
    expect(params.get("range")).toBe("7d");
    expect(templateHref(12)).toBe("/templates/12");
  });

  it("shows rising only above 1", () => {
    expect(risingText(1)).toBe("—");
    expect(risingText(3.24)).toBe("×3.2");
    expect(risingText(42.4)).toBe("×42");
  });
});
