/** A metric name picker: the names the metrics store knows (the label-values API for
 * `__name__`), filtered as you type; any valid name can still be typed by hand. */
import { useQuery } from "@tanstack/react-query";
import { useId, useMemo, useState, type KeyboardEvent, type ReactNode } from "react";
import { metricNamesQuery } from "../../../api/prom";

const SHOWN = 60;

export function MetricPicker({
  value,
  onChange,
  inputProps,
  disabled = false,
}: {
  value: string;
  onChange: (name: string) => void;
  inputProps: { id: string; "aria-invalid": boolean; "aria-describedby"?: string };
  disabled?: boolean;
}): ReactNode {
  const names = useQuery(metricNamesQuery());
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const listId = useId();
  const matches = useMemo(() => {
    const needle = value.trim().toLowerCase();
    const all = names.data ?? [];
    const hits = needle ? all.filter((n) => n.toLowerCase().includes(needle)) : all;
    // Names that start with what was typed first, then the rest, alphabetically.
    return [...hits].sort(
      (a, b) =>
        Number(!a.toLowerCase().startsWith(needle)) - Number(!b.toLowerCase().startsWith(needle)) ||
        a.localeCompare(b),
    );
  }, [names.data, value]);
  const shown = matches.slice(0, SHOWN);

  const pick = (name: string): void => {
    onChange(name);
    setOpen(false);
  };
  const onKey = (e: KeyboardEvent<HTMLInputElement>): void => {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      setOpen(true);
      setActive((i) => Math.min(i + 1, shown.length - 1));
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      setActive((i) => Math.max(i - 1, 0));
    } else if (e.key === "Enter" && open && shown[active]) {
      e.preventDefault();
      pick(shown[active]);
    } else if (e.key === "Escape") {
      setOpen(false);
    }
  };

  return (
    <div className="combo">
      <input
        {...inputProps}
        className="input mono"
        role="combobox"
        aria-expanded={open}
        aria-controls={listId}
        aria-autocomplete="list"
        autoComplete="off"
        spellCheck={false}
        placeholder="Search metric names"
        disabled={disabled}
        value={value}
        onChange={(e) => {
          onChange(e.target.value);
          setActive(0);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onKeyDown={onKey}
      />
      {open ? (
        <div className="combo-list" role="listbox" id={listId} aria-label="Metric names">
          {names.isPending ? (
            <div className="picker-note">Loading metric names…</div>
          ) : names.isError ? (
            <div className="picker-note error">Metric names are unavailable: type the name.</div>
          ) : shown.length === 0 ? (
            <div className="picker-note">
              {names.data.length === 0 ? "No metrics stored yet." : "No metric matches; a new name is fine."}
            </div>
          ) : (
            <>
              {shown.map((name, i) => (
                <div
                  key={name}
                  role="option"
                  aria-selected={i === active}
                  className="combo-option mono"
                  onMouseDown={(e) => {
                    e.preventDefault(); // keep the focus in the input
                    pick(name);
                  }}
                >
                  {name}
                </div>
              ))}
              {matches.length > SHOWN ? (
                <div className="picker-note">{matches.length - SHOWN} more: keep typing to narrow.</div>
              ) : null}
            </>
          )}
        </div>
      ) : null}
    </div>
  );
}
