"use client";

import Link from "next/link";
import { useState } from "react";
import { useSearchParams } from "next/navigation";
import { NewPasswordFields, useNewPassword, useSubmit } from "@/components/forms";
import { ErrorAlert, LogInButton, Notice } from "@/components/ui";
import { request } from "@/lib/client";
import { ApiError } from "@/lib/errors";
import { isLinkToken } from "@/lib/validate";

export function ResetForm() {
  const token = useSearchParams().get("token") ?? "";
  const pw = useNewPassword();
  const [badLink, setBadLink] = useState(!isLinkToken(token));
  const [done, setDone] = useState(false);
  const { busy, error, run } = useSubmit();

  async function submit(ev: React.FormEvent) {
    ev.preventDefault();
    pw.setTouched(true);
    if (!pw.ok) return;
    await run(async () => {
      try {
        await request("/api/v1/password-reset/confirm", { method: "POST", body: { token, password: pw.password } });
      } catch (e) {
        if (e instanceof ApiError && e.code === "invalid_token") setBadLink(true);
        throw e;
      }
      setDone(true);
    });
  }

  if (done)
    return (
      <div className="narrow">
        <h1>Choose a new password</h1>
        <Notice>
          <p>Your new password is set, and every session that was open has ended.</p>
        </Notice>
        <LogInButton />
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
            <NewPasswordFields pw={pw} mismatch="The two passwords differ." />
            <button type="submit" disabled={busy}>
              Set the password
            </button>
          </form>
        </>
      )}
    </div>
  );
}
