import type { Metadata } from "next";
import { Suspense } from "react";
import { ResetForm } from "./form";

export const metadata: Metadata = { title: "Choose a new password" };

export default function Page() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <ResetForm />
    </Suspense>
  );
}
