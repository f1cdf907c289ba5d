/** "Show context": the lines just before and after one line of the same service, oldest first,
 * with that line highlighted and scrolled into view. */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState, type ReactNode } from "react";
import { logContextQuery, type LogLine } from "../../api/logs";
import { ErrorBanner, Spinner } from "../ui";
import { Icon } from "../Icon";
import { Modal } from "../Modal";
import { LogRowView } from "./LogRow";

const STEPS = [20, 100, 500];

export function LogContextDialog({ line, onClose }: { line: LogLine | null; onClose: () => void }): ReactNode {
  return (
    <Modal open={line !== null} className="log-context-dialog" labelledBy="log-context-title" onClose={onClose}>
      {line ? <ContextBody key={line.id} line={line} onClose={onClose} /> : null}
    </Modal>
  );
}

function ContextBody({ line, onClose }: { line: LogLine; onClose: () => void }): ReactNode {
  const [step, setStep] = useState(0);
  const around = STEPS[step] ?? 20;
  const query = useQuery(logContextQuery(line.id, around));
  const [expanded, setExpanded] = useState<string | null>(null);
  const centre = useRef<HTMLDivElement>(null);
  const loaded = query.data !== undefined;
  useEffect(() => {
    if (loaded) centre.current?.scrollIntoView({ block: "center" });
  }, [loaded, around]);
  const rows = (items: LogLine[]): ReactNode =>
    items.map((l) => (
      <LogRowView key={l.id} line={l} expanded={expanded === l.id} onToggle={() => setExpanded(expanded === l.id ? null : l.id)} />
    ));
  return (
    <>
      <div className="dialog-body">
        <div className="row" style={{ alignItems: "baseline" }}>
          <h2 id="log-context-title" className="grow">
            Context of a <span className="mono">{line.service}</span> line
          </h2>
          {query.isFetching ? <Spinner /> : null}
          <span className="faint small">
            {around} lines before and after, same service
          </span>
        </div>
        {query.isError ? <ErrorBanner error={query.error} onRetry={() => void query.refetch()} /> : null}
        <div className="log-context" role="list" aria-label="Lines around the line">
          {query.data ? (
            <>
              {query.data.before.length === 0 ? <div className="log-end faint small">No earlier lines of this service.</div> : null}
              {rows(query.data.before)}
              <div ref={centre}>
                <LogRowView
                  line={query.data.line}
                  highlighted
                  expanded={expanded === line.id}
                  onToggle={() => setExpanded(expanded === line.id ? null : line.id)}
                />
              </div>
              {rows(query.data.after)}
              {query.data.after.length === 0 ? <div className="log-end faint small">No later lines of this service.</div> : null}
            </>
          ) : query.isPending ? (
            <div className="center-fill" style={{ minHeight: 200 }}>
              <Spinner />
            </div>
          ) : null}
        </div>
      </div>
      <div className="dialog-actions">
        {step + 1 < STEPS.length ? (
          <button type="button" className="btn" onClick={() => setStep(step + 1)} disabled={query.isFetching}>
            <Icon name="arrowDown" /> Show {STEPS[step + 1]} each side
          </button>
        ) : null}
        <button type="button" className="btn btn-primary" onClick={onClose}>
          Close
        </button>
      </div>
    </>
  );
}
