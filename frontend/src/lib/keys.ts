// Public keys and tokens: PEM encoding of keys made in the browser, the
// public JWK that is uploaded, and the example of signing a token.

/** Base64 (standard alphabet, padded) of @bytes. */
export function base64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** A PEM block (64-character lines) of DER @der under @label ("PRIVATE KEY"). */
export function toPem(der: Uint8Array, label: string): string {
  const b = base64(der);
  const lines = b.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** The public members of an EC JWK, as the service wants it (no key_ops, ext, d). */
export function publicJwk(jwk: { kty?: string; crv?: string; x?: string; y?: string }): string {
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.x || !jwk.y) throw new Error("not an EC P-256 public key");
  return JSON.stringify({ kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, alg: "ES256", use: "sig" });
}

/** A quick look at what a pasted key is, for the form's hint. */
export function keyKind(text: string): "pem-public" | "pem-private" | "jwk" | "jwk-private" | "empty" | "unknown" {
  const t = text.trim();
  if (t === "") return "empty";
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(t)) return "pem-private";
  if (/^-----BEGIN (RSA )?PUBLIC KEY-----[\s\S]+-----END (RSA )?PUBLIC KEY-----$/.test(t)) return "pem-public";
  if (t.startsWith("{")) {
    try {
      const j = JSON.parse(t) as Record<string, unknown>;
      if (typeof j !== "object" || j === null) return "unknown";
      if ("d" in j || "k" in j) return "jwk-private";
      return typeof j.kty === "string" ? "jwk" : "unknown";
    } catch {
      return "unknown";
    }
  }
  return "unknown";
}

/** The payload of a compact JWS, not verified (for the user's id and the audience of the session token). */
export function jwtPayload(token: string): Record<string, unknown> | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((part.length + 3) % 4);
    const bin = atob(b64);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const v: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export interface JwtExampleInput {
  kid: string;
  /** The user's id (claim sub), as a decimal string. */
  sub: string;
  /** The audience ddns-api wants (the dashboard reads it from its own session token). */
  aud: string;
  /** Where the API is reached: the dashboard's origin. */
  origin: string;
  /** The private key file's name. */
  keyFile: string;
}

/** A Node.js script that signs an ES256 token, and curl calls with it. */
export function jwtExample(i: JwtExampleInput): string {
  const origin = i.origin.replace(/\/+$/, "");
  return `// sign-token.mjs: prints a token for ddns-api, valid 5 minutes (Node.js 16 or later, no packages)
import { createPrivateKey, randomUUID, sign } from "node:crypto";
import { readFileSync } from "node:fs";

const key = createPrivateKey(readFileSync(process.argv[2] ?? ${JSON.stringify(i.keyFile)}));
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
const now = Math.floor(Date.now() / 1000);
const head = b64({ alg: "ES256", typ: "JWT", kid: ${JSON.stringify(i.kid)} });
const body = b64({
  sub: ${JSON.stringify(i.sub)},           // your user id
  aud: ${JSON.stringify(i.aud)},
  iat: now,
  exp: now + 300,        // at most 5 minutes
  jti: randomUUID(),     // new for every token
  scope: "dns:read dns:write",
});
const sig = sign("sha256", Buffer.from(\`\${head}.\${body}\`), { key, dsaEncoding: "ieee-p1363" });
console.log(\`\${head}.\${body}.\${sig.toString("base64url")}\`);

# then, in a shell:
T=$(node sign-token.mjs ${i.keyFile})
curl -fsS -H "Authorization: Bearer $T" ${origin}/api/v1/domains
curl -fsS -H "Authorization: Bearer $T" -H 'Content-Type: application/json' -X PUT \\
     -d '{"rrsets":[{"name":"HOST","type":"A","records":["192.0.2.7"]}]}' \\
     ${origin}/api/v1/domains/HOST/rrsets
`;
}
