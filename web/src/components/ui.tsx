/** Small shared building blocks: badges, banners, fields, empty states, page heads. */
import { useEffect, useId, useState, type ReactNode } from "react";
import { Link } from "react-router";
import { errorMessage, isStale } from "../api/problem";
import type { AgentStatus, Role } from "../api/types";
import { formatTime, formatWindow, timeAgo } from "../lib/format";
import type { Confirm } from "../lib/useConfirm";
import { Icon, type IconName } from "./Icon";
import { Modal } from "./Modal";
import { useDocumentTitle } from "../lib/useDocumentTitle";

export function StatusBadge({ status }: { status: AgentStatus }): ReactNode {
  return (
    <span className={`badge badge-${status}`} data-status={status}>
      <span className="dot" aria-hidden="true" />
      {status}
    </span>
  );
}

export function RoleBadge({ role }: { role: Role }): ReactNode {
  return <span className={`badge badge-${role}`}>{role}</span>;
}

export function Spinner({ label = "Loading" }: { label?: string }): ReactNode {
  return <span className="spinner" role="status" aria-label={label} />;
}

export function Loading(): ReactNode {
  return (
    <div className="center-fill">
      <Spinner />
    </div>
  );
}

type Tone = "error" | "warning" | "info" | "success";
const TONE_ICON: Record<Tone, IconName> = {
  error: "alert",
  warning: "alert",
  info: "info",
  success: "check",
};

export function Banner({
  tone,
  children,
  action,
}: {
  tone: Tone;
  children: ReactNode;
  action?: ReactNode;
}): ReactNode {
  return (
    <div className={`banner banner-${tone}`} role={tone === "error" ? "alert" : "status"}>
      <Icon name={TONE_ICON[tone]} />
      <div className="grow">{children}</div>
      {action}
    </div>
  );
}

/** An error from a query or mutation; a 412 gets the "changed by someone else" wording and
 * `onReload`'s button, any other error `onRetry`'s. */
export function ErrorBanner({
  error,
  onReload,
  onRetry,
}: {
  error: unknown;
  onReload?: () => void;
  onRetry?: () => void;
}): ReactNode {
  if (!error) return null;
  const stale = isStale(error);
  return (
    <Banner
      tone={stale ? "warning" : "error"}
      action={
        stale && onReload ? (
          <button type="button" className="btn btn-sm" onClick={onReload}>
            <Icon name="refresh" /> Reload
          </button>
        ) : !stale && onRetry ? (
          <button type="button" className="btn btn-sm" onClick={onRetry}>
            <Icon name="refresh" /> Retry
          </button>
        ) : undefined
      }
    >
      {stale ? <strong>Changed by someone else — reload. </strong> : null}
      {errorMessage(error)}
    </Banner>
  );
}

export function Field({
  label,
  error,
  hint,
  children,
}: {
  label: string;
  error?: string | undefined;
  hint?: ReactNode;
  children: (props: { id: string; "aria-invalid": boolean; "aria-describedby"?: string }) => ReactNode;
}): ReactNode {
  const id = useId();
  const messageId = `${id}-msg`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({
        id,
        "aria-invalid": Boolean(error),
        ...(error || hint ? { "aria-describedby": messageId } : {}),
      })}
      {error ? (
        <div className="error" id={messageId}>
          {error}
        </div>
      ) : hint ? (
        <div className="hint" id={messageId}>
          {hint}
        </div>
      ) : null}
    </div>
  );
}

export function PageHead({
  title,
  subtitle,
  crumbs,
  actions,
  docTitle,
}: {
  title: ReactNode;
  subtitle?: ReactNode;
  crumbs?: ReactNode;
  actions?: ReactNode;
  /** The tab title when `title` is not plain text (defaults to `title` when it is). */
  docTitle?: string;
}): ReactNode {
  useDocumentTitle(docTitle ?? (typeof title === "string" ? title : null));
  return (
    <div className="page-head">
      <div className="titles">
        {crumbs ? <div className="crumbs">{crumbs}</div> : null}
        <h1>{title}</h1>
        {subtitle ? <div className="subtitle">{subtitle}</div> : null}
      </div>
      {actions ? <div className="actions">{actions}</div> : null}
    </div>
  );
}

export function EmptyState({
  icon,
  title,
  children,
  action,
  footer,
}: {
  icon: IconName;
  title: string;
  children?: ReactNode;
  action?: ReactNode;
  footer?: ReactNode;
}): ReactNode {
  return (
    <div className="empty">
      <div className="empty-icon">
        <Icon name={icon} />
      </div>
      <h2>{title}</h2>
      {children}
      {action ? <div className="row">{action}</div> : null}
      {footer}
    </div>
  );
}

export function Time({ value }: { value: string | null | undefined }): ReactNode {
  if (!value) return <span className="faint">never</span>;
  return (
    <time dateTime={value} title={formatTime(value)} className="nowrap">
      {timeAgo(value)}
    </time>
  );
}

/** When a span of log lines happened (relative to its start; the span on hover) and, beneath
 * it, a second moment in smaller type: "detected just now", "closed 2 minutes ago". */
export function LinesWhen({ start, end, label, at }: { start: string; end: string; label: string; at: string }): ReactNode {
  return (
    <div className="nowrap" data-window={`${start}/${end}`}>
      <time dateTime={start} title={`lines ${formatWindow(start, end)}`}>
        {timeAgo(start)}
      </time>
      <div className="small faint">
        {label}{" "}
        <time dateTime={at} title={formatTime(at)}>
          {timeAgo(at)}
        </time>
      </div>
    </div>
  );
}

export function Labels({ labels }: { labels: Record<string, string> }): ReactNode {
  const entries = Object.entries(labels);
  if (entries.length === 0) return <span className="faint">—</span>;
  return (
    <div className="chips">
      {entries.map(([k, v]) => {
        const text = v ? `${k}=${v}` : k;
        // a narrow cell cuts a long chip with an ellipsis; the whole label shows on hover
        return (
          <span className="chip" key={k} title={text}>
            {text}
          </span>
        );
      })}
    </div>
  );
}

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }): ReactNode {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (state === "idle") return;
    const timer = window.setTimeout(() => setState("idle"), 2500);
    return () => window.clearTimeout(timer);
  }, [state]);
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(text);
      setState("copied");
    } catch {
      setState("failed"); // e.g. no clipboard access on a plain-HTTP origin
    }
  };
  return (
    <button type="button" className="btn btn-sm" onClick={() => void copy()}>
      <Icon name={state === "copied" ? "check" : "copy"} />
      {state === "copied" ? "Copied" : state === "failed" ? "Select and copy by hand" : label}
    </button>
  );
}

/** A modal confirmation built on <dialog>. */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  danger = true,
  busy = false,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}): ReactNode {
  return (
    <Modal open={open} labelledBy="confirm-title" onClose={onCancel}>
      <div className="dialog-body">
        <h2 id="confirm-title">{title}</h2>
        <div className="muted">{children}</div>
      </div>
      <div className="dialog-actions">
        <button type="button" className="btn" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
        <button type="button" className={danger ? "btn btn-danger" : "btn btn-primary"} onClick={onConfirm} disabled={busy}>
          {busy ? <Spinner label="Working" /> : null}
          {confirmLabel}
        </button>
      </div>
    </Modal>
  );
}

/** The confirmation of a row action held by `useConfirm`: open while it has a row, which
 * `title` and `onConfirm` are given. */
export function ConfirmFor<T>({
  confirm,
  title,
  confirmLabel,
  busy = false,
  onConfirm,
  children,
}: {
  confirm: Confirm<T>;
  title: (row: T) => string;
  confirmLabel: string;
  busy?: boolean;
  onConfirm: (row: T) => void;
  children: ReactNode;
}): ReactNode {
  const row = confirm.target;
  return (
    <ConfirmDialog
      open={row !== null}
      title={row === null ? "" : title(row)}
      confirmLabel={confirmLabel}
      busy={busy}
      onConfirm={() => {
        if (row !== null) onConfirm(row);
      }}
      onCancel={confirm.close}
    >
      {children}
    </ConfirmDialog>
  );
}

export function LinkButton({
  to,
  icon,
  children,
  primary = false,
}: {
  to: string;
  icon?: IconName;
  children: ReactNode;
  primary?: boolean;
}): ReactNode {
  return (
    <Link className={primary ? "btn btn-primary" : "btn"} to={to}>
      {icon ? <Icon name={icon} /> : null}
      {children}
    </Link>
  );
}
