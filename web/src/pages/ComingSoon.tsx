import type { ReactNode } from "react";
import { Icon, type IconName } from "../components/Icon";
import { EmptyState, LinkButton, PageHead } from "../components/ui";

interface Section {
  title: string;
  icon: IconName;
  lead: string;
  heading: string;
  points: string[];
  doc: string;
}

const SECTIONS: Record<string, Section> = {
  overview: {
    title: "Overview",
    icon: "overview",
    lead: "The state of the whole fleet at a glance.",
    heading: "The live fleet overview is on its way",
    points: [
      "Agents by status, with the ones that need attention first",
      "Request rate, latency, error rate and token spend across the fleet, updated live",
      "Firing alerts and recent deployments",
    ],
    doc: "docs/concepts.md",
  },
  metrics: {
    title: "Metrics",
    icon: "metrics",
    lead: "Time series from your agents and from agentdeck itself.",
    heading: "Metrics arrive with telemetry ingest",
    points: [
      "Charts of any metric, filtered by agent and label, with live updates",
      "GenAI signals: tokens, cost, latency percentiles, error rates",
      "Queries against the embedded store or VictoriaMetrics",
    ],
    doc: "docs/concepts.md",
  },
  alerts: {
    title: "Alerts",
    icon: "alerts",
    lead: "Rules that watch your metrics and tell the right people.",
    heading: "Alerting is coming",
    points: [
      "Alert rules on metrics with thresholds, durations and severities",
      "Firing and resolved alerts, silences and inhibition",
      "Notification channels: email, Slack, webhooks, with a delivery log",
    ],
    doc: "docs/concepts.md",
  },
  deployments: {
    title: "Deployments",
    icon: "deployments",
    lead: "Run agents as local processes or on Kubernetes.",
    heading: "Deployments are coming",
    points: [
      "Start, stop, scale and roll out agents from the registry",
      "Rollout history with who changed what",
      "An autoscaler that follows each agent's auto-scaling bounds",
    ],
    doc: "docs/concepts.md",
  },
};

export function ComingSoon({ section }: { section: keyof typeof SECTIONS }): ReactNode {
  const s = SECTIONS[section];
  if (!s) return null;
  return (
    <>
      <PageHead title={s.title} subtitle={s.lead} />
      <div className="card">
        <EmptyState
          icon={s.icon}
          title={s.heading}
          action={
            <>
              <LinkButton to="/agents" icon="agents">
                Go to agents
              </LinkButton>
              <a className="btn" href="/docs" target="_blank" rel="noreferrer">
                <Icon name="book" /> API reference
              </a>
            </>
          }
          footer={
            <p className="guide">
              Read more in <code>{s.doc}</code> of the agentdeck documentation.
            </p>
          }
        >
          <p>This part of agentdeck is not built yet. Here is what will appear:</p>
          <ul>
            {s.points.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </EmptyState>
      </div>
    </>
  );
}

export function NotFound(): ReactNode {
  return (
    <div className="card">
      <EmptyState icon="search" title="Page not found" action={<LinkButton to="/overview">Go to the overview</LinkButton>}>
        <p>There is nothing at this address.</p>
      </EmptyState>
    </div>
  );
}
