/** What an agent's telemetry shows before it sent anything: how to send its first metrics,
 * with the agent's name already in each snippet (SDK, OpenTelemetry, curl). */
import type { ReactNode } from "react";
import { serverOrigin } from "../../api/client";
import { Link } from "react-router";
import { Snippets, type Snippet } from "../../components/Snippets";

type Way = "sdk" | "otel" | "curl";

function telemetrySnippets(origin: string, agent: string): Record<Way, Snippet> {
  const name = JSON.stringify(agent);
  return {
    sdk: {
      title: "Python SDK",
      text: `pip install agentdeck-sdk

from agentdeck_sdk import Client

metrics = Client("${origin}", api_key="adk_…", agent=${name})
metrics.counter("agent_requests_total")
metrics.record_llm_call("gpt-4o", tokens_in=812, tokens_out=144, latency=1.9, cost=0.004)`,
    },
    otel: {
      title: "OpenTelemetry (OTLP/HTTP)",
      text: `export OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=${origin}/v1/metrics
export OTEL_EXPORTER_OTLP_METRICS_HEADERS="x-api-key=$AGENTDECK_API_KEY"
export OTEL_SERVICE_NAME=${agent}   # becomes the agent label`,
    },
    curl: {
      title: "curl",
      text: `curl -X POST ${origin}/api/v1/metrics/batch \\
  -H "X-API-Key: $AGENTDECK_API_KEY" -H "Content-Type: application/json" \\
  -d '{"samples": [{"name": "agent_requests_total", "type": "counter", "value": 1,
       "labels": {"agent": ${name}}}]}'`,
    },
  };
}

export function TelemetryEmpty({ agent }: { agent: string }): ReactNode {
  return (
    <section className="card empty telemetry-empty" aria-label="Send telemetry" data-empty="no-telemetry">
      <h2>No telemetry from {agent} yet</h2>
      <p>
        Send metrics labelled <code>agent="{agent}"</code> with an API key of role developer (create one under{" "}
        <Link to="/settings/api-keys">Settings → API keys</Link>). The charts below fill within seconds.
      </p>
      <Snippets label="How to send metrics" snippets={telemetrySnippets(serverOrigin(), agent)} initial="sdk" />
    </section>
  );
}
