/** The row a page asks to confirm a destructive action on (revoke, deactivate, expire, delete). */
import { useMemo, useState } from "react";

export interface Confirm<T> {
  /** The row being confirmed; null while no dialog is open. */
  target: T | null;
  /** Open the confirmation for this row. */
  ask: (row: T) => void;
  /** Close it (cancelled, or the action is done). */
  close: () => void;
}

export function useConfirm<T>(): Confirm<T> {
  const [target, setTarget] = useState<T | null>(null);
  return useMemo(
    () => ({
      target,
      ask: (row: T) => setTarget(() => row),
      close: () => setTarget(null),
    }),
    [target],
  );
}
