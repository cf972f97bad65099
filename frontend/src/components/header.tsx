"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { useSession } from "./session";

const LINKS = [
  { href: "/hostnames", label: "Hostnames" },
  { href: "/keys", label: "API keys" },
  { href: "/account", label: "Account" },
];

export function SiteHeader() {
  const { status, user, logout } = useSession();
  const path = usePathname();
  const current = (href: string) => (path === href || path.startsWith(href + "/") ? "page" : undefined);

  return (
    <header className="site">
      <div className="bar">
        <Link href="/" className="brand">
          ddns dashboard
        </Link>
        <nav aria-label="Main">
          <ul>
            {status === "in" ? (
              <>
                {LINKS.map((l) => (
                  <li key={l.href}>
                    <Link href={l.href} aria-current={current(l.href)}>
                      {l.label}
                    </Link>
                  </li>
                ))}
                <li className="who">{user?.email}</li>
                <li>
                  <button
                    type="button"
                    className="secondary"
                    onClick={() => void logout()}
                  >
                    Log out
                  </button>
                </li>
              </>
            ) : status === "out" ? (
              <>
                <li>
                  <Link href="/login" aria-current={current("/login")}>
                    Log in
                  </Link>
                </li>
                <li>
                  <Link href="/signup" aria-current={current("/signup")}>
                    Sign up
                  </Link>
                </li>
              </>
            ) : null}
          </ul>
        </nav>
      </div>
    </header>
  );
}
