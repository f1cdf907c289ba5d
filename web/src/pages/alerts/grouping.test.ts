import { describe, expect, it } from "vitest";
import type { AlertPublic } from "../../api/alerts";
import { bulkTargets, groupAlerts, labelKeys } from "./grouping";

function alert(id: string, fields: Partial<AlertPublic>): AlertPublic {
  return {
    id,
    rule_name: "CPU",
    severity: "warning",
    status: "active",
    is_active: true,
    labels: {},
    ...fields,
  } as AlertPublic;
}

const ALERTS = [
  alert("1", { rule_name: "CPU", labels: { alertname: "CPU", agent: "a", team: "ops" } }),
  alert("2", { rule_name: "Errors", severity: "critical", labels: { alertname: "Errors", agent: "b" } }),
  alert("3", { rule_name: "CPU", status: "acknowledged", labels: { alertname: "CPU", agent: "b" } }),
  alert("4", { rule_name: "Disk", status: "resolved", is_active: false, labels: { alertname: "Disk" } }),
];

describe("groupAlerts", () => {
  it("groups by alertname, worst severity first", () => {
    const groups = groupAlerts(ALERTS, "alertname");
    expect(groups.map((g) => [g.key, g.alerts.map((a) => a.id)])).toEqual([
      ["Errors", ["2"]],
      ["CPU", ["1", "3"]],
      ["Disk", ["4"]],
    ]);
    expect(groups[1]?.severities).toEqual({ warning: 2 });
  });

  it("groups by any label; alerts without it go last", () => {
    expect(groupAlerts(ALERTS, "agent").map((g) => g.key)).toEqual(["b", "a", ""]);
    expect(groupAlerts(ALERTS, "team").map((g) => g.key)).toEqual(["", "ops"]);
  });

  it("offers the labels it saw", () => {
    expect(labelKeys(ALERTS)).toEqual(["alertname", "agent", "team"]);
  });
});

describe("bulkTargets", () => {
  it("acknowledges only active alerts and resolves only open ones", () => {
    expect(bulkTargets(ALERTS, new Set(["1", "3", "4"]))).toEqual({ acknowledge: ["1"], resolve: ["1", "3"] });
  });
});
