"use client";

import Link from "next/link";
import { useState } from "react";
import { ErrorAlert, Field, Notice } from "@/components/ui";
import { request } from "@/lib/client";
import { describe } from "@/lib/errors";
import { emailError } from "@/lib/validate";

export function ForgotForm() {
  const [email, setEmail] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit(ev: React.FormEvent) {
    ev.preventDefault();
    const err = emailError(email);
    if (err) return setError(err);
    setBusy(true);
    setError(null);
    try {
      await request("/api/v1/password-reset", { method: "POST", body: { email: email.trim() } });
      setDone(true);
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  }

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
            <Field label="Email address">
              {(p) => <input {...p} type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} />}
            </Field>
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
