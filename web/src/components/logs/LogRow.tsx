/** One log line as a row (time, severity, service, message) and, expanded, its fields and labels
 * with actions: filter by a value, show the lines around it, copy it. */
import type { ReactNode } from "react";
import { Link } from "react-router";
import type { LogLine } from "../../api/logs";
import { lineDate, shortTime } from "../../lib/logFormat";
import { templateHref } from "../../lib/templates";
import { CopyButton } from "../ui";
import { Icon } from "../Icon";

export type FilterHandler = (name: string, value: string) => void;

export function SeverityBadge({ severity }: { severity: string }): ReactNode {
  return (
    <span className={`sev-badge sev-${severity.toLowerCase()}`} data-severity={severity}>
      {severity}
    </span>
  );
}

export function LogRowView({
  line,
  expanded,
  onToggle,
  onFilter,
  onContext,
  highlighted = false,
  live = false,
}: {
  line: LogLine;
  expanded: boolean;
  onToggle: () => void;
  onFilter?: FilterHandler;
  onContext?: (line: LogLine) => void;
  highlighted?: boolean;
  live?: boolean;
}): ReactNode {
  return (
    <div
      className={`log-row${expanded ? " expanded" : ""}${highlighted ? " highlighted" : ""}`}
      data-severity={line.severity}
      data-line-id={line.id}
      data-live={live ? "true" : undefined}
      aria-current={highlighted ? "true" : undefined}
    >
      <div className="log-head">
        <button type="button" className="log-summary" aria-expanded={expanded} onClick={onToggle}>
          <span className="log-chevron" aria-hidden="true">
            <Icon name={expanded ? "chevronDown" : "chevronRight"} />
          </span>
          <time className="log-time" dateTime={line.ts} title={`${line.ts} (UTC)`}>
            {shortTime(line.ts)}
          </time>
          <SeverityBadge severity={line.severity} />
          <span className="log-service" title={line.service}>
            {line.service}
          </span>
          <span className="log-msg">
            {line.message}
            {line.truncated ? <span className="badge badge-warn log-cut">truncated</span> : null}
          </span>
        </button>
        <TemplateChip id={line.template_id} />
      </div>
      {expanded ? <LogDetails line={line} onFilter={onFilter} onContext={onContext} /> : null}
    </div>
  );
}

/** The line's template as a chip linking to its page (nothing for a line without one). */
export function TemplateChip({ id }: { id: number | null }): ReactNode {
  if (id === null) return null;
  return (
    <Link className="tpl-chip mono" to={templateHref(id)} title={`Log template #${id}: open it`} aria-label={`Template ${id}`}>
      #{id}
    </Link>
  );
}

function FilterButton({ name, value, onFilter }: { name: string; value: string; onFilter?: FilterHandler }): ReactNode {
  if (!onFilter || value === "") return null;
  return (
    <button
      type="button"
      className="btn btn-ghost btn-xs"
      title={`Add ${name}="${value}" to the query`}
      aria-label={`Filter ${name} ${value}`}
      onClick={() => onFilter(name, value)}
    >
      <Icon name="search" /> filter
    </button>
  );
}

function Value({ value, mono = true }: { value: string; mono?: boolean }): ReactNode {
  return value ? <span className={mono ? "mono" : undefined}>{value}</span> : <span className="faint">—</span>;
}

export function LogDetails({
  line,
  onFilter,
  onContext,
}: {
  line: LogLine;
  onFilter?: FilterHandler;
  onContext?: (line: LogLine) => void;
}): ReactNode {
  const labels = Object.entries(line.labels).sort(([a], [b]) => a.localeCompare(b));
  const local = lineDate(line.ts);
  return (
    <div className="log-details" aria-label="Line details">
      <pre className="log-full">{line.message}</pre>
      <div className="log-actions row">
        {onContext ? (
          <button type="button" className="btn btn-sm" onClick={() => onContext(line)}>
            <Icon name="logs" /> Show context
          </button>
        ) : null}
        <CopyButton text={line.message} label="Copy message" />
        <CopyButton text={JSON.stringify(line, null, 2)} label="Copy as JSON" />
      </div>
      <div className="log-fields">
        <dl className="log-props" aria-label="Fields">
          <dt>Time</dt>
          <dd>
            <span className="mono">{line.ts}</span>{" "}
            <span className="faint small">({Number.isNaN(local.getTime()) ? "" : local.toLocaleString("en")} local)</span>
          </dd>
          <dt>Severity</dt>
          <dd>
            <SeverityBadge severity={line.severity} /> <FilterButton name="severity" value={line.severity} onFilter={onFilter} />
          </dd>
          <dt>Service</dt>
          <dd>
            <Value value={line.service} /> <FilterButton name="service" value={line.service} onFilter={onFilter} />
          </dd>
          <dt>Agent</dt>
          <dd>
            <Value value={line.agent} /> <FilterButton name="agent" value={line.agent} onFilter={onFilter} />
          </dd>
          <dt>Trace</dt>
          <dd>
            <Value value={line.trace_id} /> <FilterButton name="trace_id" value={line.trace_id} onFilter={onFilter} />
          </dd>
          <dt>Span</dt>
          <dd>
            <Value value={line.span_id} />
          </dd>
          <dt>Template</dt>
          <dd>
            {line.template_id === null ? (
              <span className="faint">—</span>
            ) : (
              <>
                <TemplateChip id={line.template_id} />{" "}
                <FilterButton name="template" value={String(line.template_id)} onFilter={onFilter} />
              </>
            )}
          </dd>
          <dt>Truncated</dt>
          <dd>{line.truncated ? "yes: the message was cut at the line size limit" : "no"}</dd>
          <dt>Line id</dt>
          <dd>
            <span className="mono small">{line.id}</span>
          </dd>
        </dl>
        <div className="log-labels">
          <div className="field-label">Labels</div>
          {labels.length === 0 ? (
            <span className="faint small">No labels</span>
          ) : (
            <table className="log-label-table" aria-label="Labels">
              <tbody>
                {labels.map(([k, v]) => (
                  <tr key={k}>
                    <th className="mono">{k}</th>
                    <td className="mono">{v}</td>
                    <td>
                      <FilterButton name={k} value={v} onFilter={onFilter} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
    </div>
  );
}
