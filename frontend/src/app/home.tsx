"use client";

import Link from "next/link";
import { useEffect } from "react";
import { useRouter } from "next/navigation";
import { useSession } from "@/components/session";

export function Home() {
  const { status } = useSession();
  const router = useRouter();
  useEffect(() => {
    if (status === "in") router.replace("/hostnames");
  }, [status, router]);
  return (
    <div className="narrow">
      <h1>Your own hostname, always at your current address</h1>
      <p>
        Claim a free hostname, point it at your home router, server or laptop, and keep it current from the router
        itself, a script, or this dashboard. Changes reach DNS within a second.
      </p>
      <div className="actions">
        <Link className="button" href="/signup">
          Sign up
        </Link>
        <Link className="button secondary" href="/login">
          Log in
        </Link>
      </div>
    </div>
  );
}
