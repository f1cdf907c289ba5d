/** The query-key factories: an invalidation by a prefix reaches what the pages expect. */
import { QueryClient, type QueryKey } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";
import { agentKeys, DEFAULT_AGENT_FILTERS } from "./agents";
import { alertKeys } from "./alerts";
import { auditKeys, DEFAULT_AUDIT_FILTERS } from "./audit";
import { identityKeys } from "./identity";
import { notifyKeys } from "./notify";
import { overviewKeys } from "./overview";
import { routingKeys } from "./routing";
import { ruleKeys } from "./rules";
import { telemetryKeys } from "./telemetry";

/** Which of `named` keys (cached with their name as data) the prefix `filter` reaches. */
function reached(named: Record<string, QueryKey>, filter: QueryKey): string[] {
  const client = new QueryClient();
  for (const [name, key] of Object.entries(named)) client.setQueryData(key, name);
  return client
    .getQueryCache()
    .findAll({ queryKey: filter })
    .map((q) => q.state.data as string)
    .sort();
}

describe("agentKeys", () => {
  const cached = {
    list: agentKeys.list(DEFAULT_AGENT_FILTERS),
    filtered: agentKeys.list({ ...DEFAULT_AGENT_FILTERS, q: "support" }),
    detail: agentKeys.detail("a-1"),
    other: agentKeys.detail("a-2"),
    alerts: alertKeys.list({ status: "open", state: "", severity: "", rule: "", agent: "", matcher: "" }),
  };
  it("all covers every list and every agent, nothing else", () => {
    expect(reached(cached, agentKeys.all)).toEqual(["detail", "filtered", "list", "other"]);
  });
  it("lists covers the lists whatever their filters, not the agents", () => {
    expect(reached(cached, agentKeys.lists)).toEqual(["filtered", "list"]);
  });
  it("detail is one agent", () => {
    expect(reached(cached, agentKeys.detail("a-1"))).toEqual(["detail"]);
  });
});

describe("alertKeys", () => {
  it("all covers lists, details, timelines and charts", () => {
    const cached = {
      list: alertKeys.list({ status: "", state: "", severity: "", rule: "", agent: "", matcher: "" }),
      detail: alertKeys.detail("x"),
      timeline: alertKeys.timeline("x"),
      chart: alertKeys.chart("x", "up == 0", 100, "live"),
      trace: routingKeys.trace("x"),
    };
    expect(reached(cached, alertKeys.all)).toEqual(["chart", "detail", "list", "timeline"]);
  });
});

describe("ruleKeys", () => {
  it("all covers lists, rules and backtests", () => {
    const cached = {
      list: ruleKeys.list({ q: "", severity: "", enabled: "" }),
      detail: ruleKeys.detail("r"),
      backtest: ruleKeys.backtest({ name: "cpu", expr: "up" } as Parameters<typeof ruleKeys.backtest>[0], 6),
      alerts: alertKeys.detail("r"),
    };
    expect(reached(cached, ruleKeys.all)).toEqual(["backtest", "detail", "list"]);
  });
});

describe("routingKeys and notifyKeys", () => {
  const cached = {
    active: routingKeys.silenceList("active", ""),
    any: routingKeys.silenceList("", "maintenance"),
    preview: routingKeys.silencePreview("[]"),
    inhibition: routingKeys.inhibitionRules,
    receivers: routingKeys.receivers,
    all: notifyKeys.deliveryList("", ""),
    failed: notifyKeys.deliveryList("c-1", "dead"),
    channels: notifyKeys.channels,
    kinds: notifyKeys.channelKinds,
  };
  it("silences covers every silence list but not the create form's preview", () => {
    expect(reached(cached, routingKeys.silences)).toEqual(["active", "any"]);
  });
  it("deliveries covers the log whatever its filters", () => {
    expect(reached(cached, notifyKeys.deliveries)).toEqual(["all", "failed"]);
  });
  it("channels does not reach the channel kinds", () => {
    expect(reached(cached, notifyKeys.channels)).toEqual(["channels"]);
  });
});

describe("overviewKeys", () => {
  const cached = {
    summary: overviewKeys.summary("1h"),
    summary6h: overviewKeys.summary("6h"),
    agents: overviewKeys.agents("1h", "-error_rate"),
    topology: overviewKeys.topology("1h"),
    trend: overviewKeys.trend("request_rate", "1h"),
  };
  it("each live refresh prefix covers its query in every window", () => {
    expect(reached(cached, overviewKeys.summaries)).toEqual(["summary", "summary6h"]);
    expect(reached(cached, overviewKeys.agentLists)).toEqual(["agents"]);
    expect(reached(cached, overviewKeys.topologies)).toEqual(["topology"]);
  });
  it("all covers every monitoring query", () => {
    expect(reached(cached, overviewKeys.all)).toEqual(["agents", "summary", "summary6h", "topology", "trend"]);
  });
});

describe("identity, audit and telemetry keys", () => {
  it("keep each resource apart", () => {
    const cached = {
      users: identityKeys.users,
      keys: identityKeys.apiKeys,
      tenant: identityKeys.tenant,
      audit: auditKeys.list(DEFAULT_AUDIT_FILTERS),
      names: telemetryKeys.metricNames,
      range: telemetryKeys.range("up", { kind: "relative", range: "1h" }, null),
    };
    expect(reached(cached, identityKeys.users)).toEqual(["users"]);
    expect(reached(cached, auditKeys.all)).toEqual(["audit"]);
    expect(reached(cached, telemetryKeys.all)).toEqual(["names", "range"]);
  });
});
