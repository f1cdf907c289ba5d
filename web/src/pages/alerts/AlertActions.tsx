/** Acknowledge / resolve with a note: a confirmation dialog with a note field. */
import { useState, type ReactNode } from "react";
import { ConfirmDialog } from "../../components/ui";

export type NoteAction = "acknowledge" | "resolve";

const TEXT: Record<NoteAction, { title: string; label: string; placeholder: string }> = {
  acknowledge: {
    title: "Acknowledge",
    label: "Acknowledge",
    placeholder: "Note (optional): who is on it, what is being done",
  },
  resolve: {
    title: "Resolve",
    label: "Resolve",
    placeholder: "Resolution note (optional): what fixed it",
  },
};

export function NoteDialog({
  action,
  count,
  busy,
  onConfirm,
  onCancel,
}: {
  action: NoteAction | null;
  count: number;
  busy: boolean;
  onConfirm: (note: string) => void;
  onCancel: () => void;
}): ReactNode {
  const [note, setNote] = useState("");
  const text = TEXT[action ?? "acknowledge"];
  const what = count === 1 ? "this alert" : `${count} alerts`;
  return (
    <ConfirmDialog
      open={action !== null}
      title={`${text.title} ${what}`}
      confirmLabel={text.label}
      danger={false}
      busy={busy}
      onConfirm={() => {
        onConfirm(note);
        setNote("");
      }}
      onCancel={() => {
        setNote("");
        onCancel();
      }}
    >
      <p>
        {action === "resolve"
          ? "Resolving by hand is recorded; if the condition still holds after the grace period the alert fires again."
          : "Acknowledging stops escalation; the alert stays open until it resolves."}
      </p>
      <textarea
        className="textarea"
        aria-label="Note"
        placeholder={text.placeholder}
        value={note}
        maxLength={2000}
        onChange={(e) => setNote(e.target.value)}
        style={{ width: "100%", marginTop: 8 }}
      />
    </ConfirmDialog>
  );
}
