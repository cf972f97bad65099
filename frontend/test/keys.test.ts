import assert from "node:assert/strict";
import { createPublicKey, generateKeyPairSync, createPrivateKey, sign, verify, webcrypto } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { jwtExample, jwtPayload, keyKind, publicJwk, toPem } from "../src/lib/keys.ts";

test("toPem wraps at 64 characters between the labels", () => {
  const der = new Uint8Array(100).map((_, i) => i);
  const pem = toPem(der, "PRIVATE KEY");
  const lines = pem.trim().split("\n");
  assert.equal(lines[0], "-----BEGIN PRIVATE KEY-----");
  assert.equal(lines.at(-1), "-----END PRIVATE KEY-----");
  assert.equal(lines[1]?.length, 64);
  assert.equal(Buffer.from(lines.slice(1, -1).join(""), "base64").toString("hex"), Buffer.from(der).toString("hex"));
});

test("a WebCrypto key pair: the PKCS#8 PEM is readable and matches the public JWK", async () => {
  const pair = (await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey("pkcs8", pair.privateKey));
  const jwk = await webcrypto.subtle.exportKey("jwk", pair.publicKey);
  const pub = JSON.parse(publicJwk(jwk)) as Record<string, string>;
  assert.deepEqual(Object.keys(pub).sort(), ["alg", "crv", "kty", "use", "x", "y"]);
  const priv = createPrivateKey(toPem(pkcs8, "PRIVATE KEY"));
  const data = Buffer.from("hello");
  const sig = sign("sha256", data, { key: priv, dsaEncoding: "ieee-p1363" });
  const pk = createPublicKey({ key: pub, format: "jwk" });
  assert.ok(verify("sha256", data, { key: pk, dsaEncoding: "ieee-p1363" }, sig));
});

test("publicJwk refuses anything but EC P-256", () => {
  assert.throws(() => publicJwk({ kty: "RSA" }));
  assert.throws(() => publicJwk({ kty: "EC", crv: "P-384", x: "a", y: "b" }));
});

const kinds: Array<[string, ReturnType<typeof keyKind>]> = [
  ["", "empty"],
  ["-----BEGIN PUBLIC KEY-----\nMFk\n-----END PUBLIC KEY-----", "pem-public"],
  ["-----BEGIN PRIVATE KEY-----\nMIG\n-----END PRIVATE KEY-----", "pem-private"],
  ["-----BEGIN EC PRIVATE KEY-----\nMIG\n-----END EC PRIVATE KEY-----", "pem-private"],
  ['{"kty":"EC","crv":"P-256","x":"a","y":"b"}', "jwk"],
  ['{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}', "jwk-private"],
  ["ssh-ed25519 AAAA", "unknown"],
  ["{not json", "unknown"],
];
for (const [text, want] of kinds) test(`keyKind(${JSON.stringify(text.slice(0, 30))}) is ${want}`, () => assert.equal(keyKind(text), want));

test("jwtPayload reads the claims of a compact JWS", () => {
  const b = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const t = `${b({ alg: "ES256" })}.${b({ sub: "42", aud: "ddns", name: "é?>" })}.sig`;
  assert.deepEqual(jwtPayload(t), { sub: "42", aud: "ddns", name: "é?>" });
  assert.equal(jwtPayload("nope"), null);
  assert.equal(jwtPayload("a.!!!.c"), null);
});

test("the JWT example signs a token ddns-api would accept (ES256, claims, lifetime)", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const dir = mkdtempSync(join(tmpdir(), "ddns-jwt-"));
  try {
    const text = jwtExample({ kid: "kid-1", sub: "42", aud: "ddns", origin: "http://127.0.0.1:3000/", keyFile: "k.pem" });
    const script = text.slice(0, text.indexOf("# then, in a shell:"));
    writeFileSync(join(dir, "sign-token.mjs"), script);
    writeFileSync(join(dir, "k.pem"), privateKey.export({ type: "pkcs8", format: "pem" }));
    const token = execFileSync(process.execPath, [join(dir, "sign-token.mjs"), join(dir, "k.pem")]).toString().trim();
    const [h, p, s] = token.split(".") as [string, string, string];
    const header = JSON.parse(Buffer.from(h, "base64url").toString()) as Record<string, unknown>;
    const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, number | string>;
    assert.deepEqual(header, { alg: "ES256", typ: "JWT", kid: "kid-1" });
    assert.equal(claims.sub, "42");
    assert.equal(claims.aud, "ddns");
    assert.equal(claims.scope, "dns:read dns:write");
    assert.ok(typeof claims.jti === "string" && claims.jti.length >= 16);
    assert.ok((claims.exp as number) - (claims.iat as number) <= 300);
    assert.ok(verify("sha256", Buffer.from(`${h}.${p}`), { key: publicKey, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url")));
    assert.match(text, /curl -fsS -H "Authorization: Bearer \$T" http:\/\/127\.0\.0\.1:3000\/api\/v1\/domains$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
