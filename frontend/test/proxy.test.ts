import assert from "node:assert/strict";
import { test } from "node:test";
import { proxyTarget, serviceFor } from "../src/lib/proxy.ts";

const routes: Array<[string, "user" | "api" | null]> = [
  ["/api/v1/users", "user"],
  ["/api/v1/users/verify", "user"],
  ["/api/v1/sessions", "user"],
  ["/api/v1/sessions/token", "user"],
  ["/api/v1/me", "user"],
  ["/api/v1/me/password", "user"],
  ["/api/v1/keys", "user"],
  ["/api/v1/keys/abc", "user"],
  ["/api/v1/password-reset", "user"],
  ["/api/v1/password-reset/confirm", "user"],
  ["/api/v1/usersx", "api"],
  ["/api/v1/zones", "api"],
  ["/api/v1/domains/alice.dyn.test/dns", "api"],
  ["/api/v1/dns-records/7", "api"],
  ["/nic/update", "api"],
  ["/nic/checkip", "api"],
  ["/", null],
  ["/verify", null],
  ["/api/v2/zones", null],
  ["/nicx", null],
];
for (const [path, want] of routes) test(`${path} goes to ${want ?? "the dashboard"}`, () => assert.equal(serviceFor(path), want));

test("the targets come from the environment, with the local stack's defaults", () => {
  assert.equal(proxyTarget("/api/v1/me", "", {}), "http://127.0.0.1:8081/api/v1/me");
  assert.equal(proxyTarget("/nic/update", "?hostname=a", {}), "http://127.0.0.1:8080/nic/update?hostname=a");
  const env = { DDNS_USER_URL: "http://10.0.0.2:9000/", DDNS_API_URL: " http://api:80 " };
  assert.equal(proxyTarget("/api/v1/keys", "", env), "http://10.0.0.2:9000/api/v1/keys");
  assert.equal(proxyTarget("/api/v1/zones", "?x=1", env), "http://api:80/api/v1/zones?x=1");
  assert.equal(proxyTarget("/login", "", env), null);
});
