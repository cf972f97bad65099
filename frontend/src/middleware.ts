import { NextResponse, type NextRequest } from "next/server";
import { proxyTarget } from "@/lib/proxy";

// The same-origin routes to ddns-user and ddns-api, rewritten at run time so
// that DDNS_USER_URL and DDNS_API_URL are read when the dashboard starts, not
// when it is built (next.config rewrites are frozen into the build).
export function middleware(req: NextRequest) {
  const env = process.env;
  const target = proxyTarget(req.nextUrl.pathname, req.nextUrl.search, {
    DDNS_USER_URL: env["DDNS_USER_URL"],
    DDNS_API_URL: env["DDNS_API_URL"],
  });
  if (target === null) return NextResponse.next();
  return NextResponse.rewrite(new URL(target));
}

export const config = {
  matcher: ["/api/v1/:path*", "/nic/:path*"],
  runtime: "nodejs",
};
