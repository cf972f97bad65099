"use client";

import Link from "next/link";
import { useState } from "react";
import { useRouter } from "next/navigation";
import { ErrorAlert, Field } from "@/components/ui";
import { request } from "@/lib/client";
import { describe } from "@/lib/errors";
import { emailError, passwordError } from "@/lib/validate";

export const EMAIL_KEY = "ddns:signup-email";

export function SignUpForm() {
  const router = useRouter();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [show, setShow] = useState(false);
  const [touched, setTouched] = useState({ email: false, password: false });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const eErr = touched.email ? emailError(email) : null;
  const pErr = touched.password && password !== "" ? passwordError(password, email) : null;

  async function submit(ev: React.FormEvent) {
    ev.preventDefault();
    setTouched({ email: true, password: true });
    if (emailError(email) || passwordError(password, email)) return;
    setBusy(true);
    setError(null);
    try {
      await request("/api/v1/users", { method: "POST", body: { email: email.trim(), password } });
      sessionStorage.setItem(EMAIL_KEY, email.trim());
      router.push("/check-email");
    } catch (e) {
      setError(describe(e));
      setBusy(false);
    }
  }

  return (
    <div className="narrow">
      <h1>Sign up</h1>
      <p className="lead">We’ll send you a link to confirm your email address.</p>
      <ErrorAlert message={error} />
      <form onSubmit={submit} noValidate>
        <Field label="Email address" error={eErr}>
          {(p) => (
            <input
              {...p}
              type="email"
              name="email"
              autoComplete="email"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              onBlur={() => setTouched((t) => ({ ...t, email: true }))}
            />
          )}
        </Field>
        <Field
          label="Password"
          hint="At least 10 characters; not your email address, not a common password. A few words make a good one."
          error={pErr}
          ok={touched.password && password !== "" && !pErr ? "Looks good." : null}
        >
          {(p) => (
            <input
              {...p}
              type={show ? "text" : "password"}
              name="password"
              autoComplete="new-password"
              required
              value={password}
              onChange={(e) => {
                setPassword(e.target.value);
                setTouched((t) => ({ ...t, password: true }));
              }}
            />
          )}
        </Field>
        <div className="field">
          <label className="inline">
            <input type="checkbox" checked={show} onChange={(e) => setShow(e.target.checked)} /> Show the password
          </label>
        </div>
        <div className="actions">
          <button type="submit" disabled={busy}>
            {busy ? "Signing up…" : "Sign up"}
          </button>
          <span>
            Have an account? <Link href="/login">Log in</Link>
          </span>
        </div>
      </form>
    </div>
  );
}
