/**
 * The LogQL input: completes label names and values (from the labels endpoints, over the range
 * being searched), line filters and parsers; Enter runs the query. When the server refuses a
 * query, the problem's detail is shown under the bar with the faulty position marked.
 */
import { useQuery } from "@tanstack/react-query";
import { useLayoutEffect, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import { logLabelNamesQuery, logLabelValuesQuery } from "../../api/logs";
import { ApiError, errorMessage } from "../../api/problem";
import { applySuggestion, completionAt, positionIndex, suggestions, type LogCompletion } from "../../lib/logql";
import type { TimeRange } from "../../lib/timeRange";
import { Icon } from "../Icon";

export function LogQueryBar({
  value,
  onChange,
  onRun,
  range,
  error,
  errorPosition,
  errorQuery,
}: {
  value: string;
  onChange: (text: string) => void;
  onRun: () => void;
  range: TimeRange;
  /** The refusal of the last run query (problem+json), if any. */
  error?: unknown;
  errorPosition?: number | null;
  /** The query the error is about (the text in the bar may have changed since). */
  errorQuery?: string;
}): ReactNode {
  const input = useRef<HTMLInputElement>(null);
  const pendingCaret = useRef<number | null>(null);
  const [open, setOpen] = useState<{ at: LogCompletion; caret: number } | null>(null);
  const [active, setActive] = useState(0);
  const names = useQuery({ ...logLabelNamesQuery(range), enabled: open !== null });
  const valueName = open?.at.kind === "value" ? open.at.name : "";
  const values = useQuery(logLabelValuesQuery(valueName, range));
  const items = open ? suggestions(open.at, names.data ?? [], values.data ?? []) : [];

  useLayoutEffect(() => {
    if (pendingCaret.current === null) return;
    input.current?.setSelectionRange(pendingCaret.current, pendingCaret.current);
    pendingCaret.current = null;
  }, [value]);

  const refresh = (text: string, caret: number): void => {
    const at = completionAt(text, caret);
    setOpen(at ? { at, caret } : null);
    setActive(0);
  };

  const accept = (index: number): void => {
    const item = items[index];
    if (!open || !item) return;
    const [text, caret] = applySuggestion(value, open.at, open.caret, item);
    pendingCaret.current = caret;
    onChange(text);
    refresh(text, caret); // a name goes on to its values
    input.current?.focus();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>): void => {
    if (open && items.length > 0) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const n = items.length;
        setActive((i) => (i + (e.key === "ArrowDown" ? 1 : n - 1)) % n);
        return;
      }
      if (e.key === "Tab" || e.key === "Enter") {
        e.preventDefault();
        accept(Math.min(active, items.length - 1));
        return;
      }
    }
    if (e.key === "Escape") {
      setOpen(null);
      return;
    }
    if (e.key === "Enter") {
      e.preventDefault();
      setOpen(null);
      onRun();
    }
  };

  const refused = error instanceof ApiError && error.status >= 400 && error.status < 500 ? error : null;
  const shownQuery = errorQuery ?? value;
  const at = errorPosition !== null && errorPosition !== undefined ? positionIndex(shownQuery, errorPosition) : null;

  return (
    <div className="log-query">
      <div className="log-query-row">
        <div className="query-editor">
          <span className="log-query-icon" aria-hidden="true">
            <Icon name="search" />
          </span>
          <input
            ref={input}
            className="input code log-query-input"
            aria-label="Log query"
            placeholder='{service="api", severity=~"ERROR|CRITICAL"} |= "timeout"'
            spellCheck={false}
            autoComplete="off"
            value={value}
            aria-invalid={refused !== null && shownQuery === value}
            aria-autocomplete="list"
            aria-expanded={items.length > 0}
            aria-controls="logql-completions"
            onChange={(e) => {
              onChange(e.target.value);
              refresh(e.target.value, e.target.selectionStart ?? e.target.value.length);
            }}
            onKeyDown={onKeyDown}
            onBlur={() => setOpen(null)}
          />
          {open && items.length > 0 ? (
            <ul className="completions" id="logql-completions" role="listbox" aria-label="Suggestions">
              {items.map((item, i) => (
                <li
                  key={item.label}
                  role="option"
                  aria-selected={i === active}
                  className="mono"
                  onMouseDown={(e) => {
                    e.preventDefault();
                    accept(i);
                  }}
                >
                  {item.label}
                  {item.detail ? <span className="faint small"> {item.detail}</span> : null}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
        <button type="button" className="btn btn-primary" onClick={onRun}>
          <Icon name="refresh" /> Run
        </button>
      </div>
      {refused ? (
        <div className="log-query-error" role="alert">
          <div className="error">
            <strong>{refused.kind === "invalid-query" ? "Invalid query" : refused.problem.title}: </strong>
            {errorMessage(refused)}
          </div>
          {at !== null ? (
            <div className="log-query-pointer" aria-label={`Error at position ${errorPosition ?? 0}`}>
              <pre className="mono">
                {shownQuery.slice(0, at)}
                <mark>{shownQuery.slice(at, at + 1) || " "}</mark>
                {shownQuery.slice(at + 1)}
              </pre>
              <pre className="mono caret-line" aria-hidden="true">
                {" ".repeat(at)}^
              </pre>
              {shownQuery === value ? (
                <button
                  type="button"
                  className="btn btn-ghost btn-xs"
                  onClick={() => {
                    input.current?.focus();
                    input.current?.setSelectionRange(at, Math.min(at + 1, value.length));
                  }}
                >
                  Put the cursor there
                </button>
              ) : null}
            </div>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
