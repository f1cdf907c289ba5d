/** The field errors of a refused request, each with the field it names. */
import type { ReactNode } from "react";
import { fieldErrors } from "../../../api/problem";

export function FieldErrorList({ error }: { error: unknown }): ReactNode {
  const entries = Object.entries(fieldErrors(error));
  if (entries.length === 0) return null;
  return (
    <ul className="error small" role="alert" aria-label="Field errors">
      {entries.map(([field, message]) => (
        <li key={field}>
          <code>{field || "body"}</code>: {message}
        </li>
      ))}
    </ul>
  );
}
