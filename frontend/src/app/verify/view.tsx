"use client";

import Link from "next/link";
import { useEffect, useRef, useState } from "react";
import { useSearchParams } from "next/navigation";
import { ResendForm } from "@/components/resend";
import { ErrorAlert, LogInButton, Notice } from "@/components/ui";
import { request } from "@/lib/client";
import { ApiError, describe } from "@/lib/errors";
import { isLinkToken } from "@/lib/validate";

type State =
  | { kind: "working" }
  | { kind: "verified"; resetRequired: boolean }
  | { kind: "bad-link"; message: string }
  | { kind: "error"; message: string };

export function Verify() {
  const token = useSearchParams().get("token") ?? "";
  const [state, setState] = useState<State>({ kind: "working" });
  const sent = useRef(false);

  useEffect(() => {
    if (sent.current) return; // a token works once: never send it twice
    sent.current = true;
    if (!isLinkToken(token)) {
      setState({ kind: "bad-link", message: "This link is incomplete. Open it again from the email, or ask for a new one." });
      return;
    }
    request<{ verified: boolean; password_reset_required: boolean }>("/api/v1/users/verify", { method: "POST", body: { token } })
      .then((r) => setState({ kind: "verified", resetRequired: r.password_reset_required }))
      .catch((e) =>
        setState(
          e instanceof ApiError && e.code === "invalid_token"
            ? { kind: "bad-link", message: describe(e) }
            : { kind: "error", message: describe(e) },
        ),
      );
  }, [token]);

  return (
    <div className="narrow">
      <h1>Verify your email</h1>
      {state.kind === "working" ? (
        <p role="status">Checking the link…</p>
      ) : state.kind === "verified" && !state.resetRequired ? (
        <>
          <Notice>
            <p>Your email address is verified. Welcome!</p>
          </Notice>
          <LogInButton />
        </>
      ) : state.kind === "verified" ? (
        <>
          <Notice kind="info">
            <p>
              <strong>Your email address is verified, but you need to choose a password.</strong>
            </p>
            <p>
              Someone else signed up with this address too before it was verified, so neither password is kept. We
              mailed you a link to choose your password: open it to finish.
            </p>
          </Notice>
          <p>
            No email? <Link href="/forgot-password">Ask for a new password link</Link>.
          </p>
        </>
      ) : state.kind === "bad-link" ? (
        <>
          <ErrorAlert message={state.message} />
          <p>Ask for a new verification link:</p>
          <ResendForm />
        </>
      ) : (
        <>
          <ErrorAlert message={state.message} />
          <p>
            <button type="button" onClick={() => window.location.reload()}>
              Try again
            </button>
          </p>
        </>
      )}
    </div>
  );
}
