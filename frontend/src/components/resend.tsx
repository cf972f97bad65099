"use client";

import { useEffect } from "react";
import { EmailField, useMailLink } from "./forms";
import { ErrorAlert, Notice } from "./ui";

/** Asks for a new verification link (POST /api/v1/users/verify/resend). */
export function ResendForm({ initialEmail = "" }: { initialEmail?: string }) {
  const { email, setEmail, done, busy, error, submit } = useMailLink("/api/v1/users/verify/resend", initialEmail);
  useEffect(() => setEmail((e) => e || initialEmail), [initialEmail, setEmail]);

  if (done) return <Notice>If an unverified account has this address, a new link is on its way. Links sent before no longer work.</Notice>;
  return (
    <form onSubmit={submit} noValidate>
      <ErrorAlert message={error} />
      <EmailField value={email} onChange={setEmail} />
      <button type="submit" className="secondary" disabled={busy}>
        Send a new link
      </button>
    </form>
  );
}
