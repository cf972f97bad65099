"use client";

import Link from "next/link";
import { useState } from "react";
import { useSearchParams } from "next/navigation";
import { ErrorAlert, Field, Notice } from "@/components/ui";
import { request } from "@/lib/client";
import { ApiError, describe } from "@/lib/errors";
import { passwordError } from "@/lib/validate";

export function ResetForm() {
  const token = useSearchParams().get("token") ?? "";
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [badLink, setBadLink] = useState(!/^[A-Za-z0-9_-]{43}$/.test(token));
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  const pErr = touched && password !== "" ? passwordError(password) : null;
  const aErr = touched && again !== "" && again !== password ? "The two passwords differ." : null;

  async function submit(ev: React.FormEvent) {
    ev.preventDefault();
    setTouched(true);
    if (passwordError(password) || again !== password) return;
    setBusy(true);
    setError(null);
    try {
      await request("/api/v1/password-reset/confirm", { method: "POST", body: { token, password } });
      setDone(true);
    } catch (e) {
      if (e instanceof ApiError && e.code === "invalid_token") setBadLink(true);
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  }

  if (done)
    return (
      <div className="narrow">
        <h1>Choose a new password</h1>
        <Notice>
          <p>Your new password is set, and every session that was open has ended.</p>
        </Notice>
        <p>
          <Link className="button" href="/login">
            Log in
          </Link>
        </p>
      </div>
    );
  return (
    <div className="narrow">
      <h1>Choose a new password</h1>
      {badLink ? (
        <>
          <ErrorAlert message={error ?? "This link is incomplete or doesn’t work any more."} />
          <p>
            <Link href="/forgot-password">Ask for a new link</Link>
          </p>
        </>
      ) : (
        <>
          <ErrorAlert message={error} />
          <form onSubmit={submit} noValidate>
            <Field label="New password" hint="At least 10 characters; not your email address, not a common password." error={pErr}>
              {(p) => (
                <input
                  {...p}
                  type="password"
                  autoComplete="new-password"
                  value={password}
                  onChange={(e) => {
                    setPassword(e.target.value);
                    setTouched(true);
                  }}
                />
              )}
            </Field>
            <Field label="The new password again" error={aErr}>
              {(p) => <input {...p} type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} />}
            </Field>
            <button type="submit" disabled={busy}>
              Set the password
            </button>
          </form>
        </>
      )}
    </div>
  );
}
