import type { Metadata } from "next";
import { SessionProvider } from "@/components/session";
import { SiteHeader } from "@/components/header";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "ddns dashboard", template: "%s · ddns dashboard" },
  description: "Claim hostnames and keep their DNS records current.",
};

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>
        <a href="#main" className="skip">
          Skip to the content
        </a>
        <SessionProvider>
          <SiteHeader />
          <main id="main" tabIndex={-1}>
            {children}
          </main>
        </SessionProvider>
      </body>
    </html>
  );
}
