/** The PromQL editor of the explorer: completion of metric and label names and functions
 * (Tab or Enter accepts, arrows move), Enter runs the query. */
import { useQuery } from "@tanstack/react-query";
import { useLayoutEffect, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import { labelNamesQuery, metricNamesQuery } from "../../api/telemetry";
import { applyCompletion, completionAt, PROMQL_FUNCTIONS, suggest, type Completion } from "../../lib/promqlComplete";

export function QueryEditor({
  value,
  onChange,
  onRun,
}: {
  value: string;
  onChange: (text: string) => void;
  onRun: () => void;
}): ReactNode {
  const metrics = useQuery(metricNamesQuery());
  const labels = useQuery(labelNamesQuery());
  const area = useRef<HTMLTextAreaElement>(null);
  // Where the caret goes once an accepted completion is in the textarea. Set in a layout effect,
  // i.e. before the browser handles the next key, so fast typing after Tab lands after the word.
  const pendingCaret = useRef<number | null>(null);
  useLayoutEffect(() => {
    if (pendingCaret.current === null) return;
    area.current?.setSelectionRange(pendingCaret.current, pendingCaret.current);
    pendingCaret.current = null;
  }, [value]);
  const [completion, setCompletion] = useState<{ at: Completion; caret: number; items: string[] } | null>(null);
  const [active, setActive] = useState(0);

  const refresh = (text: string, caret: number): void => {
    const at = completionAt(text, caret);
    if (!at) {
      setCompletion(null);
      return;
    }
    const pool =
      at.context === "label"
        ? (labels.data ?? []).filter((l) => l !== "__name__")
        : [...(metrics.data ?? []), ...PROMQL_FUNCTIONS];
    const items = suggest(at.prefix, pool);
    setCompletion(items.length ? { at, caret, items } : null);
    setActive(0);
  };

  const accept = (item: string): void => {
    if (!completion) return;
    const [text, caret] = applyCompletion(value, completion.at, completion.caret, item);
    if (text === value) area.current?.setSelectionRange(caret, caret);
    else pendingCaret.current = caret;
    onChange(text);
    setCompletion(null);
    area.current?.focus();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (completion) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const n = completion.items.length;
        setActive((i) => (i + (e.key === "ArrowDown" ? 1 : n - 1)) % n);
        return;
      }
      if (e.key === "Tab" || (e.key === "Enter" && !e.shiftKey)) {
        e.preventDefault();
        const item = completion.items[active] ?? completion.items[0];
        if (item !== undefined) accept(item);
        return;
      }
      if (e.key === "Escape") {
        setCompletion(null);
        return;
      }
    }
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      onRun();
    }
  };

  return (
    <div className="query-editor">
      <textarea
        ref={area}
        className="textarea code"
        aria-label="PromQL query"
        placeholder='e.g. sum by (agent) (rate(agent_requests_total[5m]))'
        spellCheck={false}
        rows={2}
        value={value}
        onChange={(e) => {
          onChange(e.target.value);
          refresh(e.target.value, e.target.selectionStart);
        }}
        onKeyDown={onKeyDown}
        onBlur={() => setCompletion(null)}
        aria-autocomplete="list"
        aria-expanded={completion !== null}
        aria-controls="promql-completions"
      />
      {completion ? (
        <ul className="completions" id="promql-completions" role="listbox" aria-label="Suggestions">
          {completion.items.map((item, i) => (
            <li
              key={item}
              role="option"
              aria-selected={i === active}
              className="mono"
              onMouseDown={(e) => {
                e.preventDefault();
                accept(item);
              }}
            >
              {item}
              {PROMQL_FUNCTIONS.includes(item) ? <span className="faint small"> function</span> : null}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
