"use client";

import { useEffect, useState } from "react";
import { ErrorAlert, Field, Notice } from "./ui";
import { request } from "@/lib/client";
import { describe } from "@/lib/errors";
import { emailError } from "@/lib/validate";

/** Asks for a new verification link (POST /api/v1/users/verify/resend). */
export function ResendForm({ initialEmail = "" }: { initialEmail?: string }) {
  const [email, setEmail] = useState(initialEmail);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  useEffect(() => setEmail((e) => e || initialEmail), [initialEmail]);

  async function submit(ev: React.FormEvent) {
    ev.preventDefault();
    const err = emailError(email);
    if (err) return setError(err);
    setBusy(true);
    setError(null);
    try {
      await request("/api/v1/users/verify/resend", { method: "POST", body: { email: email.trim() } });
      setDone(true);
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  }

  if (done) return <Notice>If an unverified account has this address, a new link is on its way. Links sent before no longer work.</Notice>;
  return (
    <form onSubmit={submit} noValidate>
      <ErrorAlert message={error} />
      <Field label="Email address">
        {(p) => <input {...p} type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} />}
      </Field>
      <button type="submit" className="secondary" disabled={busy}>
        Send a new link
      </button>
    </form>
  );
}
