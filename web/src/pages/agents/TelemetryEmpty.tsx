/** What an agent's telemetry shows before it sent anything: how to send its first metrics,
 * with the agent's name already in each snippet (SDK, OpenTelemetry, curl). */
import { useState, type ReactNode } from "react";
import { Link } from "react-router";
import { CopyButton } from "../../components/ui";

type Way = "sdk" | "otel" | "curl";

function telemetrySnippets(origin: string, agent: string): Record<Way, { title: string; text: string }> {
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
  const [way, setWay] = useState<Way>("sdk");
  const origin = typeof window === "undefined" ? "http://localhost:8000" : window.location.origin;
  const all = telemetrySnippets(origin, agent);
  const chosen = all[way];
  return (
    <section className="card empty telemetry-empty" aria-label="Send telemetry" data-empty="no-telemetry">
      <h2>No telemetry from {agent} yet</h2>
      <p>
        Send metrics labelled <code>agent="{agent}"</code> with an API key of role developer (create one under{" "}
        <Link to="/settings/api-keys">Settings → API keys</Link>). The charts below fill within seconds.
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
    </section>
  );
}
