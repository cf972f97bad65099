"use client";

import { useCallback, useState } from "react";
import { request } from "@/lib/client";
import { describe } from "@/lib/errors";
import { emailError, passwordError } from "@/lib/validate";
import { Field } from "./ui";

/**
 * The busy flag and the error of a form that asks a service. @report, when
 * given, takes the error instead (a message the page shows elsewhere).
 */
export function useSubmit(report?: (message: string | null) => void) {
  const [busy, setBusy] = useState(false);
  const [own, setOwn] = useState<string | null>(null);
  const setError = report ?? setOwn;

  /** Runs @act with the form busy and the error cleared; a failure becomes the error. */
  const run = useCallback(
    async (act: () => Promise<void>) => {
      setBusy(true);
      setError(null);
      try {
        await act();
      } catch (e) {
        setError(describe(e));
      } finally {
        setBusy(false);
      }
    },
    [setError],
  );

  return { busy, error: own, setError, run };
}

/**
 * A form that has a link mailed to an address (POST @path with { email }): the
 * address, whether it is sent, and submit, which checks the address first.
 */
export function useMailLink(path: string, initialEmail = "") {
  const [email, setEmail] = useState(initialEmail);
  const [done, setDone] = useState(false);
  const { busy, error, setError, run } = useSubmit();

  async function submit(ev: React.FormEvent) {
    ev.preventDefault();
    const err = emailError(email);
    if (err) return setError(err);
    await run(async () => {
      await request(path, { method: "POST", body: { email: email.trim() } });
      setDone(true);
    });
  }

  return { email, setEmail, done, busy, error, submit };
}

/** An email address to type (or to let the browser fill in). */
export function EmailField({ value, onChange }: { value: string; onChange: (email: string) => void }) {
  return (
    <Field label="Email address">
      {(p) => <input {...p} type="email" autoComplete="email" value={value} onChange={(e) => onChange(e.target.value)} />}
    </Field>
  );
}

/**
 * A new password, typed twice (NewPasswordFields). @email, when known, is one
 * the password must not be. The errors show once the form is touched.
 */
export function useNewPassword(email?: string) {
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [touched, setTouched] = useState(false);
  const error = passwordError(password, email);
  return {
    password,
    setPassword,
    again,
    setAgain,
    touched,
    setTouched,
    /** Why the password can't be used, or null. */
    error,
    /** True when the password can be used and both are the same. */
    ok: !error && again === password,
    clear() {
      setPassword("");
      setAgain("");
      setTouched(false);
    },
  };
}

/** The two fields of a new password; @mismatch is what to say when they differ. */
export function NewPasswordFields({ pw, mismatch }: { pw: ReturnType<typeof useNewPassword>; mismatch: string }) {
  const pErr = pw.touched && pw.password !== "" ? pw.error : null;
  const aErr = pw.touched && pw.again !== "" && pw.again !== pw.password ? mismatch : null;
  return (
    <>
      <Field label="New password" hint="At least 10 characters; not your email address, not a common password." error={pErr}>
        {(p) => (
          <input
            {...p}
            type="password"
            autoComplete="new-password"
            value={pw.password}
            onChange={(e) => {
              pw.setPassword(e.target.value);
              pw.setTouched(true);
            }}
          />
        )}
      </Field>
      <Field label="The new password again" error={aErr}>
        {(p) => <input {...p} type="password" autoComplete="new-password" value={pw.again} onChange={(e) => pw.setAgain(e.target.value)} />}
      </Field>
    </>
  );
}
