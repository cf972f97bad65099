"use client";

import Link from "next/link";
import { EmailField, useMailLink } from "@/components/forms";
import { ErrorAlert, Notice } from "@/components/ui";

export function ForgotForm() {
  const { email, setEmail, done, busy, error, submit } = useMailLink("/api/v1/password-reset");

  return (
    <div className="narrow">
      <h1>Forgot your password?</h1>
      {done ? (
        <Notice>
          <p>
            If an account has this address, a link to choose a new password is on its way. It works for 24 hours; links
            sent before no longer work.
          </p>
        </Notice>
      ) : (
        <>
          <p className="lead">We’ll mail you a link to choose a new one.</p>
          <ErrorAlert message={error} />
          <form onSubmit={submit} noValidate>
            <EmailField value={email} onChange={setEmail} />
            <button type="submit" disabled={busy}>
              Send the link
            </button>
          </form>
        </>
      )}
      <p>
        <Link href="/login">Back to log in</Link>
      </p>
    </div>
  );
}
