/** Rows of label matchers: name, operator (=, !=, =~, !~), value. */
import type { ReactNode } from "react";
import { Icon } from "../../../components/Icon";
import { OPS, type Matcher, type MatcherOp } from "../../../api/routing";

export function MatcherEditor({
  label,
  value,
  onChange,
  error,
}: {
  label: string;
  value: Matcher[];
  onChange: (next: Matcher[]) => void;
  error?: string | undefined;
}): ReactNode {
  const set = (index: number, patch: Partial<Matcher>): void =>
    onChange(value.map((m, i) => (i === index ? { ...m, ...patch } : m)));
  return (
    <fieldset className="matcher-editor" aria-label={label}>
      <legend>{label}</legend>
      {value.map((m, i) => (
        <div className="matcher-row" key={i} data-testid="matcher-row">
          <input
            className="input mono"
            aria-label={`${label} ${i + 1} label name`}
            placeholder="label"
            value={m.name}
            onChange={(e) => set(i, { name: e.target.value })}
          />
          <select
            className="select mono"
            aria-label={`${label} ${i + 1} operator`}
            value={m.op}
            onChange={(e) => set(i, { op: e.target.value as MatcherOp })}
          >
            {OPS.map((op) => (
              <option key={op} value={op}>
                {op}
              </option>
            ))}
          </select>
          <input
            className="input mono"
            aria-label={`${label} ${i + 1} value`}
            placeholder="value"
            value={m.value}
            onChange={(e) => set(i, { value: e.target.value })}
          />
          <button
            type="button"
            className="btn btn-sm btn-danger-ghost"
            aria-label={`Remove ${label} ${i + 1}`}
            onClick={() => onChange(value.filter((_, j) => j !== i))}
          >
            <Icon name="trash" />
          </button>
        </div>
      ))}
      <button
        type="button"
        className="btn btn-sm"
        onClick={() => onChange([...value, { name: "", op: "=", value: "" }])}
      >
        <Icon name="plus" /> Add matcher
      </button>
      {error ? <div className="error">{error}</div> : null}
    </fieldset>
  );
}

export function MatcherChips({ matchers }: { matchers: Matcher[] }): ReactNode {
  return (
    <div className="chips">
      {matchers.map((m, i) => (
        <span className="chip mono" key={i}>
          {m.name}
          {m.op}
          {m.value}
        </span>
      ))}
    </div>
  );
}
