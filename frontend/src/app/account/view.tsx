"use client";

import { useState } from "react";
import { NewPasswordFields, useNewPassword, useSubmit } from "@/components/forms";
import { useSession } from "@/components/session";
import { ErrorAlert, Field, Notice, Time } from "@/components/ui";
import { dropSessionToken, request } from "@/lib/client";
import { describe } from "@/lib/errors";

export function Account() {
  const { user } = useSession();
  if (!user) return null;
  return (
    <>
      <h1>Account</h1>
      <section className="panel" aria-labelledby="acct-h">
        <h2 id="acct-h">Your account</h2>
        <table>
          <tbody>
            <tr>
              <th scope="row">Email address</th>
              <td>{user.email}</td>
            </tr>
            <tr>
              <th scope="row">User id</th>
              <td className="mono">{user.id}</td>
            </tr>
            <tr>
              <th scope="row">Member since</th>
              <td>
                <Time iso={user.created_at} />
              </td>
            </tr>
            <tr>
              <th scope="row">Hostnames · API keys</th>
              <td>
                {user.domains} · {user.keys}
              </td>
            </tr>
          </tbody>
        </table>
      </section>
      <ChangePassword email={user.email} />
      <DeleteAccount />
    </>
  );
}

function ChangePassword({ email }: { email: string }) {
  const [current, setCurrent] = useState("");
  const pw = useNewPassword(email);
  const [done, setDone] = useState(false);
  const { busy, error, setError, run } = useSubmit();

  async function submit(ev: React.FormEvent) {
    ev.preventDefault();
    pw.setTouched(true);
    setDone(false);
    if (current === "") return setError("Enter your current password.");
    if (!pw.ok) return;
    await run(async () => {
      await request("/api/v1/me/password", { method: "PUT", auth: "session", body: { current_password: current, new_password: pw.password } });
      setDone(true);
      setCurrent("");
      pw.clear();
    });
  }

  return (
    <section className="panel narrow" aria-labelledby="pw-h">
      <h2 id="pw-h">Change the password</h2>
      {done ? (
        <Notice>
          <p>Your password is changed. Your other sessions have ended; this one goes on.</p>
        </Notice>
      ) : null}
      <ErrorAlert message={error} />
      <form onSubmit={submit} noValidate>
        <Field label="Current password">
          {(p) => <input {...p} type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} />}
        </Field>
        <NewPasswordFields pw={pw} mismatch="The two new passwords differ." />
        <button type="submit" disabled={busy}>
          Change the password
        </button>
      </form>
    </section>
  );
}

function DeleteAccount() {
  const [password, setPassword] = useState("");
  const [sure, setSure] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(ev: React.FormEvent) {
    ev.preventDefault();
    if (password === "") return setError("Enter your password to confirm.");
    if (!sure) return setError("Tick the box to confirm that everything is to be deleted.");
    setBusy(true);
    setError(null);
    try {
      await request("/api/v1/me", { method: "DELETE", auth: "session", body: { password } });
      dropSessionToken();
      window.location.assign("/login?deleted=1");
    } catch (e) {
      setError(describe(e));
      setBusy(false);
    }
  }

  return (
    <section className="panel narrow" aria-labelledby="del-h">
      <h2 id="del-h">Delete the account</h2>
      <p>
        This deletes your hostnames and their records (they leave DNS within a second), your API keys and update tokens,
        and ends every session. It can’t be undone.
      </p>
      <ErrorAlert message={error} />
      <form onSubmit={submit} noValidate>
        <Field label="Your password">
          {(p) => <input {...p} type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />}
        </Field>
        <div className="field">
          <label className="inline">
            <input type="checkbox" checked={sure} onChange={(e) => setSure(e.target.checked)} /> Yes, delete my account and
            everything in it
          </label>
        </div>
        <button type="submit" className="danger" disabled={busy}>
          Delete my account
        </button>
      </form>
    </section>
  );
}
