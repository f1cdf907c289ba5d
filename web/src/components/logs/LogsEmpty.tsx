/** What the Logs page shows when the tenant has no lines in the range: how to send some. */
import type { ReactNode } from "react";
import { serverOrigin } from "../../api/client";
import { Link } from "react-router";
import { Snippets, type Snippet } from "../Snippets";
import { Icon } from "../Icon";

type Way = "curl" | "otel" | "promtail";

function snippets(origin: string): Record<Way, Snippet> {
  return {
    curl: {
      title: "curl (JSON batch)",
      text: `curl -X POST ${origin}/api/v1/logs/batch \\
  -H "Authorization: Bearer $AGENTDECK_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"entries": [{"severity": "INFO", "service": "checkout",
       "agent": "support-bot", "message": "hello from curl"}]}'`,
    },
    otel: {
      title: "OpenTelemetry (OTLP/HTTP)",
      text: `export OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=${origin}/v1/logs
export OTEL_EXPORTER_OTLP_LOGS_HEADERS="x-api-key=$AGENTDECK_API_KEY"
export OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=http/protobuf
export OTEL_SERVICE_NAME=checkout   # becomes the line's service`,
    },
    promtail: {
      title: "Promtail / Alloy (Loki push)",
      text: `# promtail.yaml
clients:
  - url: ${origin}/loki/api/v1/push
    bearer_token: <your adk_ API key>`,
    },
  };
}

export function LogsEmpty({ filtered, onWiden }: { filtered: boolean; onWiden?: () => void }): ReactNode {
  if (filtered) {
    return (
      <div className="empty" data-empty="no-match">
        <div className="empty-icon">
          <Icon name="search" />
        </div>
        <h2>No lines match</h2>
        <p>Nothing in this range matches the query. Loosen the filters or look further back.</p>
        {onWiden ? (
          <div className="row">
            <button type="button" className="btn" onClick={onWiden}>
              Search the last 7 days
            </button>
          </div>
        ) : null}
      </div>
    );
  }
  return (
    <div className="empty logs-empty" data-empty="no-logs">
      <div className="empty-icon">
        <Icon name="logs" />
      </div>
      <h2>No logs in this range yet</h2>
      <p>
        Send lines with an API key of role developer (create one under{" "}
        <Link to="/settings/api-keys">Settings → API keys</Link>). They show up here within a second.
      </p>
      <Snippets label="How to send logs" snippets={snippets(serverOrigin())} initial="curl" />
      <p className="guide">
        Vector, Fluent Bit and Grafana Alloy use the Loki push address too. Every path, the query language and
        retention are described in <code>docs/logs.md</code>; the routes are in the{" "}
        <a href="/docs" target="_blank" rel="noreferrer">
          API reference
        </a>
        .
      </p>
    </div>
  );
}
