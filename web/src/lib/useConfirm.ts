/** The row a page asks to confirm a destructive action on (revoke, deactivate, expire, delete). */
import { useMutation, useQueryClient, type QueryKey, type UseMutationResult } from "@tanstack/react-query";
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

/** The mutation a confirmation asks for: when it settles (done or failed) the confirmation
 * closes and the queries under `refresh` are fetched again (a failure may mean the row changed
 * meanwhile). Its error is the page's to show. */
export function useConfirmedMutation<T, V>(
  confirm: Confirm<T>,
  mutationFn: (variables: V) => Promise<unknown>,
  refresh: QueryKey,
): UseMutationResult<unknown, Error, V> {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn,
    onSettled: async () => {
      confirm.close();
      await queryClient.invalidateQueries({ queryKey: refresh });
    },
  });
}
