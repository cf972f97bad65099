import type { Metadata } from "next";
import { Suspense } from "react";
import { Verify } from "./view";

export const metadata: Metadata = { title: "Verify your email" };

export default function Page() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <Verify />
    </Suspense>
  );
}
