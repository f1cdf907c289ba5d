/** A routing page's create or edit form inside its card: the refused request's banner and
 * field errors, the fields, then the button row. */
import type { ReactNode, SyntheticEvent } from "react";

import { FormActions } from "../../../components/FormActions";
import { ErrorBanner } from "../../../components/ui";
import { FieldErrorList } from "./FieldErrorList";

export function CardForm({
  label,
  onSubmit,
  save,
  submit,
  busyLabel,
  onCancel,
  children,
}: {
  /** The form's accessible name. */
  label: string;
  onSubmit: (event: SyntheticEvent) => void;
  /** The form's mutation: its error is shown above the fields, its pending state on the button. */
  save: { error: unknown; isPending: boolean };
  submit: ReactNode;
  busyLabel?: string;
  onCancel?: () => void;
  children: ReactNode;
}): ReactNode {
  return (
    <form className="card-body form" onSubmit={onSubmit} aria-label={label} noValidate>
      {save.error ? (
        <>
          <ErrorBanner error={save.error} />
          <FieldErrorList error={save.error} />
        </>
      ) : null}
      {children}
      <FormActions submit={submit} pending={save.isPending} busyLabel={busyLabel} onCancel={onCancel} />
    </form>
  );
}
