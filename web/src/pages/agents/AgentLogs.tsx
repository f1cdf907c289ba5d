/** An agent's Logs tab: the Logs page's search, list and tail, starting at `{agent="<name>"}`. */
import { useState, type ReactNode } from "react";
import { Link } from "react-router";
import { Icon } from "../../components/Icon";
import { LogsExplorer } from "../../components/logs/LogsExplorer";
import { agentLogQuery, DEFAULT_LOGS_RANGE, logsHref, type LogsViewState } from "../../lib/logsUrl";

export function AgentLogs({ agent }: { agent: string }): ReactNode {
  const [state, setState] = useState<LogsViewState>({
    query: agentLogQuery(agent),
    range: DEFAULT_LOGS_RANGE,
    live: false,
  });
  return (
    <LogsExplorer
      state={state}
      onChange={setState}
      listHeight="min(70vh, 640px)"
      actions={
        <Link className="btn btn-sm" to={logsHref(state)}>
          <Icon name="external" /> Open in Logs
        </Link>
      }
    />
  );
}
