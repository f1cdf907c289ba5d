/**
 * What an agent's Telemetry section shows while the agent has sent no metrics: how to send
 * them, with the agent's name filled in (SDK, OpenTelemetry, curl).
 */
import { useState, type ReactNode } from "react";
import { Link } from "react-router";
import { CopyButton } from "../../components/ui";
import { Icon } from "../../components/Icon";

type Way = "sdk" | "otel" | "curl";

function telemetrySnippets(origin: string, agent: string): Record<Way, { title: string; text: string }> {
  return {
    sdk: {
      title: "Python SDK",
      text: `# pip install agentdeck-sdk
from agentdeck_sdk import Client

metrics = Client("${origin}", api_key="adk_...", agent="${agent}")
with metrics.timer("agent_request_duration_seconds"):
    handle(request)
metrics.counter("agent_requests_total")
metrics.record_llm_call("gpt-4o-mini", tokens_in=812, tokens_out=144, latency=1.9, cost=0.004)`,
    },
    otel: {
      title: "OpenTelemetry (OTLP/HTTP)",
      text: `export OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=${origin}/v1/metrics
export OTEL_EXPORTER_OTLP_METRICS_HEADERS="x-api-key=$AGENTDECK_KEY"
export OTEL_SERVICE_NAME=${agent}   # becomes the agent label`,
    },
    curl: {
      title: "curl (JSON batch)",
      text: `curl -X POST ${origin}/api/v1/metrics/batch \\
  -H "X-API-Key: $AGENTDECK_KEY" -H "Content-Type: application/json" \\
  -d '{"samples": [{"name": "agent_cpu_percent", "value": 42,
       "labels": {"agent": "${agent}"}}]}'`,
    },
  };
}

export function TelemetryEmpty({ agent }: { agent: string }): ReactNode {
  const [way, setWay] = useState<Way>("sdk");
  const origin = typeof window === "undefined" ? "http://localhost:8000" : window.location.origin;
  const all = telemetrySnippets(origin, agent);
  const chosen = all[way];
  return (
    <div className="empty logs-empty card" data-empty="no-telemetry">
      <div className="empty-icon">
        <Icon name="metrics" />
      </div>
      <h2>No metrics from {agent} yet</h2>
      <p>
        Send them with an API key of role developer (create one under{" "}
        <Link to="/settings/api-keys">Settings → API keys</Link>), labelled <code>agent=&quot;{agent}&quot;</code>.
        The charts below fill in within seconds.
      </p>
      <div className="seg" role="group" aria-label="How to send metrics">
        {(Object.keys(all) as Way[]).map((w) => (
          <button key={w} type="button" aria-pressed={w === way} onClick={() => setWay(w)}>
            {all[w].title}
          </button>
        ))}
      </div>
      <div className="snippet">
        <pre className="mono" aria-label={chosen.title}>
          {chosen.text}
        </pre>
        <CopyButton text={chosen.text} />
      </div>
    </div>
  );
}
