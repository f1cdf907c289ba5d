/** The button row at the foot of a form: Cancel (where the form can be left without saving)
 * and the submit button, disabled while the request is under way. */
import type { ReactNode } from "react";

import { Spinner } from "./ui";

export function FormActions({
  submit,
  pending,
  busyLabel,
  onCancel,
}: {
  /** The submit button's text ("Create policy", "Save receiver"). */
  submit: ReactNode;
  /** The request is under way: the submit button is disabled. */
  pending: boolean;
  /** With it, a spinner of that name stands before the text while `pending`. */
  busyLabel?: string;
  /** Without it, no Cancel button. */
  onCancel?: () => void;
}): ReactNode {
  return (
    <div className="form-actions">
      {onCancel ? (
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      ) : null}
      <button type="submit" className="btn btn-primary" disabled={pending}>
        {pending && busyLabel ? <Spinner label={busyLabel} /> : null}
        {submit}
      </button>
    </div>
  );
}
