import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError, describe, messageFor } from "../src/lib/errors.ts";

test("a known code gets its message", () => {
  assert.match(messageFor("name_taken", "api", "alice.dyn.test. is taken"), /taken. Try another/);
  assert.match(messageFor("name_reserved", "api", "this name is reserved"), /reserved by the operator/);
  assert.match(messageFor("quota_exceeded", "api", "x"), /as many hostnames as allowed/);
});
test("invalid_token means a bad link at ddns-user and a bad session token at ddns-api", () => {
  assert.match(messageFor("invalid_token", "user", "x"), /link doesn’t work/);
  assert.match(messageFor("invalid_token", "api", "x"), /session/);
});
test("an unknown code falls back to the service's message", () => {
  assert.equal(messageFor("brand_new_code", "api", "something new happened"), "Something new happened.");
  assert.equal(messageFor("brand_new_code", "api", ""), "Something went wrong. Try again.");
});
test("invalid_content shows the service's reason", () => {
  assert.equal(messageFor("invalid_content", "api", 'content "1.2.3.04": not an IPv4 address in canonical form'), 'Content "1.2.3.04": not an IPv4 address in canonical form.');
});
test("rate_limited tells how long to wait", () => {
  assert.match(messageFor("rate_limited", "user", "x", 7), /7 seconds/);
  assert.match(messageFor("rate_limited", "user", "x", 1), /1 second\./);
  assert.match(messageFor("rate_limited", "user", "x"), /Wait a moment/);
});
test("describe() handles ApiError, Error and anything else", () => {
  assert.match(describe(new ApiError(409, "record_exists", "x", "api")), /exists already/);
  assert.equal(describe(new Error("boom")), "boom");
  assert.match(describe(42), /Something went wrong/);
});
test("the DNS panel's errors", () => {
  assert.match(messageFor("dns_timeout", "api", "x"), /did not answer in time/);
  assert.match(messageFor("dns_error", "api", "x"), /could not be read/);
});
