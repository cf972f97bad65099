"use client";

import Link from "next/link";
import { useId, useState } from "react";

/** An error for the whole form (role alert), or nothing. */
export function ErrorAlert({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <div className="alert error" role="alert">
      <p>{message}</p>
    </div>
  );
}

/** A success or information box (role status). */
export function Notice({ kind = "success", children }: { kind?: "success" | "info"; children: React.ReactNode }) {
  return (
    <div className={`alert ${kind}`} role="status">
      {children}
    </div>
  );
}

/** A success notice of one paragraph, or nothing. */
export function NoticeMessage({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <Notice>
      <p>{message}</p>
    </Notice>
  );
}

/** What stands where something is still being asked for. */
export function Loading() {
  return (
    <p className="muted" role="status">
      Loading…
    </p>
  );
}

interface FieldProps {
  label: string;
  hint?: React.ReactNode;
  /** Shown under the input and tied to it (aria-describedby, aria-invalid). */
  error?: string | null;
  ok?: string | null;
  className?: string;
  children: (props: { id: string; "aria-describedby"?: string; "aria-invalid"?: boolean }) => React.ReactNode;
}

/** A labelled input with its hint and error, tied together for screen readers. */
export function Field({ label, hint, error, ok, className, children }: FieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const msgId = `${id}-msg`;
  const describedBy = [hint ? hintId : null, error || ok ? msgId : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${className ? " " + className : ""}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-describedby": describedBy, "aria-invalid": error ? true : undefined })}
      {hint ? (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="error-text" id={msgId}>
          {error}
        </p>
      ) : ok ? (
        <p className="ok-text" id={msgId}>
          {ok}
        </p>
      ) : null}
    </div>
  );
}

/** A button that asks once more, in place, before it acts. */
export function ConfirmButton({
  label,
  question,
  confirmLabel,
  onConfirm,
  disabled,
}: {
  label: string;
  question: string;
  confirmLabel: string;
  onConfirm: () => Promise<void> | void;
  disabled?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!asking)
    return (
      <button type="button" className="danger secondary" onClick={() => setAsking(true)} disabled={disabled}>
        {label}
      </button>
    );
  return (
    <span className="actions" role="group" aria-label={question}>
      <span>{question}</span>
      <button
        type="button"
        className="danger"
        autoFocus
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await onConfirm();
          } finally {
            setBusy(false);
            setAsking(false);
          }
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" className="secondary" onClick={() => setAsking(false)} disabled={busy}>
        Cancel
      </button>
    </span>
  );
}

/** Copies @text to the clipboard, and says so. */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [state, setState] = useState<"idle" | "done" | "failed">("idle");
  return (
    <>
      <button
        type="button"
        className="secondary"
        onClick={async () => {
          try {
            await navigator.clipboard.writeText(text);
            setState("done");
          } catch {
            setState("failed");
          }
          setTimeout(() => setState("idle"), 2500);
        }}
      >
        {label}
      </button>
      <span role="status" className="muted">
        {state === "done" ? " Copied." : state === "failed" ? " Could not copy: select the text and copy it." : ""}
      </span>
    </>
  );
}

/** The way on once an account is ready: to the login page. */
export function LogInButton() {
  return (
    <p>
      <Link className="button" href="/login">
        Log in
      </Link>
    </p>
  );
}

/** A time for people, in their own zone, with the exact UTC time in a tooltip. */
export function Time({ iso }: { iso: string | null }) {
  if (!iso) return <span className="muted">never</span>;
  const d = new Date(iso);
  return (
    <time dateTime={iso} title={iso}>
      {d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" })}
    </time>
  );
}
