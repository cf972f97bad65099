"use client";

import { useEffect, useState } from "react";
import { ResendForm } from "@/components/resend";
import { EMAIL_KEY } from "../signup/form";

export function CheckEmail() {
  const [email, setEmail] = useState("");
  useEffect(() => {
    setEmail(sessionStorage.getItem(EMAIL_KEY) ?? "");
  }, []);
  return (
    <div className="narrow">
      <h1>Check your email</h1>
      <p>
        If the address can be used, a message with a link to confirm it is on its way
        {email ? (
          <>
            {" "}
            to <strong>{email}</strong>
          </>
        ) : null}
        . Open the link to finish signing up; it works for 24 hours.
      </p>
      <p className="muted">Nothing arrived after a few minutes? Look in the spam folder, or ask for a new link:</p>
      <ResendForm initialEmail={email} />
    </div>
  );
}
