/** The card a list page is built from: a head (title, note, actions), then its body. */
import type { ReactNode } from "react";

import { Icon } from "./Icon";
import { ErrorBanner } from "./ui";

/** `<section class="card">` with an optional head: `title` as its h2, `note` beside it and
 * `actions` at the right. Without a title or actions the card has no head (the filters or
 * the body come first). */
export function ResourceSection({
  title,
  note,
  actions,
  children,
}: {
  title?: ReactNode;
  note?: ReactNode;
  actions?: ReactNode;
  children?: ReactNode;
}): ReactNode {
  return (
    <section className="card">
      {title !== undefined || actions !== undefined ? (
        <div className="card-head">
          {title !== undefined ? <h2>{title}</h2> : null}
          {note !== undefined ? <span className="small muted">{note}</span> : null}
          {actions}
        </div>
      ) : null}
      {children}
    </section>
  );
}

/** The head button that opens and closes a section's create form: "+ New …" / "Close". */
export function CreateToggle({
  open,
  label,
  onToggle,
}: {
  open: boolean;
  label: string;
  onToggle: () => void;
}): ReactNode {
  return (
    <button type="button" className={open ? "btn" : "btn btn-primary"} onClick={onToggle}>
      {open ? (
        "Close"
      ) : (
        <>
          <Icon name="plus" /> {label}
        </>
      )}
    </button>
  );
}

/** A failed mutation (or any error) as a banner in the card's body; nothing without one. */
export function CardError({ error }: { error: unknown }): ReactNode {
  if (!error) return null;
  return (
    <div className="card-body">
      <ErrorBanner error={error} />
    </div>
  );
}
