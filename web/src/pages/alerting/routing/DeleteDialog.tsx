/** Deleting a named routing object: the row's Delete button (admins only) and the confirmation. */
import type { ReactNode } from "react";

import { ConfirmDialog } from "../../../components/ui";

export function DeleteButton({ shown, onClick }: { shown: boolean; onClick: () => void }): ReactNode {
  if (!shown) return null;
  return (
    <button type="button" className="btn btn-sm btn-danger-ghost" onClick={onClick}>
      Delete
    </button>
  );
}

export function DeleteDialog({
  item,
  busy,
  onDelete,
  onCancel,
  children,
}: {
  item: { id: string; name: string } | null;
  busy: boolean;
  onDelete: (id: string) => void;
  onCancel: () => void;
  children: ReactNode;
}): ReactNode {
  return (
    <ConfirmDialog
      open={item !== null}
      title={`Delete ${item?.name ?? ""}?`}
      confirmLabel="Delete"
      busy={busy}
      onConfirm={() => {
        if (item) onDelete(item.id);
      }}
      onCancel={onCancel}
    >
      {children}
    </ConfirmDialog>
  );
}
