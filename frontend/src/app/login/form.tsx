"use client";

import Link from "next/link";
import { useState } from "react";
import { useRouter, useSearchParams } from "next/navigation";
import { ResendForm } from "@/components/resend";
import { useSession } from "@/components/session";
import { ErrorAlert, Field, Notice } from "@/components/ui";
import { request } from "@/lib/client";
import { ApiError, describe } from "@/lib/errors";

/** Only a path of this site: never send someone elsewhere after login. */
function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/hostnames";
}

export function LoginForm() {
  const params = useSearchParams();
  const router = useRouter();
  const { reload } = useSession();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [unverified, setUnverified] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit(ev: React.FormEvent) {
    ev.preventDefault();
    if (email.trim() === "" || password === "") {
      setError("Enter your email address and your password.");
      return;
    }
    setBusy(true);
    setError(null);
    setUnverified(false);
    try {
      await request("/api/v1/sessions", { method: "POST", body: { email: email.trim(), password } });
      await reload();
      router.push(safeNext(params.get("next")));
    } catch (e) {
      setError(describe(e));
      setUnverified(e instanceof ApiError && e.code === "email_unverified");
      setBusy(false);
    }
  }

  return (
    <div className="narrow">
      <h1>Log in</h1>
      {params.get("bye") ? (
        <Notice>
          <p>You are logged out.</p>
        </Notice>
      ) : null}
      {params.get("deleted") ? (
        <Notice>
          <p>Your account and everything in it are deleted. Goodbye!</p>
        </Notice>
      ) : null}
      <ErrorAlert message={error} />
      {unverified ? <ResendForm initialEmail={email} /> : null}
      <form onSubmit={submit} noValidate>
        <Field label="Email address">
          {(p) => <input {...p} type="email" name="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />}
        </Field>
        <Field label="Password">
          {(p) => (
            <input {...p} type="password" name="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
          )}
        </Field>
        <div className="actions">
          <button type="submit" disabled={busy}>
            {busy ? "Logging in…" : "Log in"}
          </button>
          <Link href="/forgot-password">Forgot your password?</Link>
        </div>
      </form>
      <p>
        New here? <Link href="/signup">Sign up</Link>
      </p>
    </div>
  );
}
