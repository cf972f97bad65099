import type { NextConfig } from "next";

// No telemetry, whichever way next is started (the npm scripts set it too).
process.env.NEXT_TELEMETRY_DISABLED = "1";

// The routes to ddns-user and ddns-api are not rewrites here: next.config's
// rewrites are frozen into the build, and the services' addresses are known
// only when the dashboard starts (DDNS_USER_URL, DDNS_API_URL). The
// middleware (src/middleware.ts) rewrites at run time instead, with the table
// of src/lib/proxy.ts.
const config: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // nothing is fetched from the internet, at build or at run time
  images: { unoptimized: true },
  // eslint is its own script (npm run lint, a meson test of its own)
  eslint: { ignoreDuringBuilds: true },
  typescript: { ignoreBuildErrors: false },
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Referrer-Policy", value: "same-origin" },
          { key: "X-Frame-Options", value: "DENY" },
        ],
      },
    ];
  },
};

export default config;
