/** Deleting a named routing object: the row's Delete button (admins only) and the confirmation. */
import type { ReactNode } from "react";

import { ConfirmFor } from "../../../components/ui";
import type { Confirm } from "../../../lib/useConfirm";

export function DeleteButton({ shown, onClick }: { shown: boolean; onClick: () => void }): ReactNode {
  if (!shown) return null;
  return (
    <button type="button" className="btn btn-sm btn-danger-ghost" onClick={onClick}>
      Delete
    </button>
  );
}

export function DeleteDialog<T extends { id: string; name: string }>({
  confirm,
  busy,
  onDelete,
  children,
}: {
  confirm: Confirm<T>;
  busy: boolean;
  onDelete: (id: string) => void;
  children: ReactNode;
}): ReactNode {
  return (
    <ConfirmFor
      confirm={confirm}
      title={(item) => `Delete ${item.name}?`}
      confirmLabel="Delete"
      busy={busy}
      onConfirm={(item) => onDelete(item.id)}
    >
      {children}
    </ConfirmFor>
  );
}
