/** The filter row above a list: `role="search"`, its controls, and "Clear" while filtered. */
import type { CSSProperties, ReactNode } from "react";

export function FilterBar({
  children,
  onClear,
  filtered = false,
}: {
  children: ReactNode;
  /** Shown as a "Clear" button while `filtered`. */
  onClear?: () => void;
  filtered?: boolean;
}): ReactNode {
  return (
    <div className="filters" role="search">
      {children}
      {onClear && filtered ? (
        <button type="button" className="btn btn-ghost" onClick={onClear}>
          Clear
        </button>
      ) : null}
    </div>
  );
}

/** One choice of a FilterSelect: a value shown as itself, or a value with its label. */
export type FilterOption<T extends string> = T | { value: T; label: string };

/** A labelled `<select>` over `options`; `all` (when given) is the label of a first, empty
 * choice that means "no filter". */
export function FilterSelect<T extends string>({
  label,
  value,
  options,
  all,
  onChange,
  style,
}: {
  label: string;
  value: T | "";
  options: readonly FilterOption<T>[];
  all?: string;
  onChange: (value: T | "") => void;
  style?: CSSProperties;
}): ReactNode {
  return (
    <select
      className="select"
      aria-label={label}
      style={style}
      value={value}
      onChange={(e) => onChange(e.target.value as T | "")}
    >
      {all !== undefined ? <option value="">{all}</option> : null}
      {options.map((option) => {
        const { value: v, label: text } = typeof option === "string" ? { value: option, label: option } : option;
        return (
          <option key={v} value={v}>
            {text}
          </option>
        );
      })}
    </select>
  );
}
