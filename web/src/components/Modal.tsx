/** A modal `<dialog>`, shown while `open`: Escape asks `onClose`; its children render only
 * while it is open (so each opening starts from fresh state). */
import { useEffect, useRef, type ReactNode } from "react";

export function Modal({
  open,
  className,
  labelledBy,
  onOpen,
  onClose,
  children,
}: {
  open: boolean;
  /** Classes besides `dialog`. */
  className?: string;
  /** The id of the heading that names it. */
  labelledBy: string;
  /** Runs each time it opens (before it shows). */
  onOpen?: () => void;
  onClose: () => void;
  children: ReactNode;
}): ReactNode {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      onOpen?.();
      if (typeof dialog.showModal === "function") dialog.showModal();
      else dialog.setAttribute("open", "");
    } else if (!open && dialog.open) {
      if (typeof dialog.close === "function") dialog.close();
      else dialog.removeAttribute("open");
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only an opening or closing acts
  }, [open]);
  return (
    <dialog
      ref={ref}
      className={className ? `dialog ${className}` : "dialog"}
      aria-labelledby={labelledBy}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      {open ? children : null}
    </dialog>
  );
}
