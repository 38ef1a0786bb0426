import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/** Subprotocol prefix that carries the token for browsers, which cannot set Authorization. */
export const BEARER_SUBPROTOCOL_PREFIX = "bearer.";

// Subprotocol values are HTTP tokens (RFC 6455 §4.1); a token outside this set could be sent in
// Authorization but never as a subprotocol, which would surprise whoever configured it.
const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The status API's shared secret, compared in constant time. */
export class BearerToken {
  private readonly digest: Buffer;

  constructor(token: string) {
    if (!HTTP_TOKEN.test(token)) {
      throw new Error("status API token must be non-empty and use only HTTP token characters (e.g. hex or base64url)");
    }
    this.digest = sha256(token);
  }

  /** True when the request carries the token in `Authorization: Bearer`, or (WebSocket only) as a subprotocol. */
  authorizes(headers: IncomingHttpHeaders, opts: { subprotocol: boolean }): boolean {
    const presented = [authorizationToken(headers.authorization)];
    if (opts.subprotocol) presented.push(subprotocolToken(headers["sec-websocket-protocol"]));
    // Hash both sides so the comparison takes the same time whatever the presented length.
    return presented.some((token) => token !== undefined && timingSafeEqual(sha256(token), this.digest));
  }
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

function authorizationToken(header: string | undefined): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? "");
  return match?.[1];
}

function subprotocolToken(header: string | undefined): string | undefined {
  const offer = (header ?? "")
    .split(",")
    .map((protocol) => protocol.trim())
    .find((protocol) => protocol.startsWith(BEARER_SUBPROTOCOL_PREFIX));
  return offer?.slice(BEARER_SUBPROTOCOL_PREFIX.length);
}

/**
 * Which browser pages may open the WebSocket. Browsers send Origin on every WebSocket handshake
 * and, unlike fetch, apply no CORS check to it, so without this list any page a user visits
 * could read the topology stream from inside the cluster network. Clients that are not browsers
 * send no Origin and are let through; the token, when configured, still applies to them.
 */
export class OriginPolicy {
  private readonly any: boolean;
  private readonly allowed: Set<string>;

  /** Entries are `*` or exact origins such as `https://dash.example.com`; anything else throws. */
  constructor(origins: readonly string[]) {
    this.any = origins.includes("*");
    this.allowed = new Set(origins.filter((origin) => origin !== "*").map(normalizeOrigin));
  }

  allows(origin: string | undefined): boolean {
    if (origin === undefined || this.any) return true;
    return this.allowed.has(origin.toLowerCase());
  }
}

function normalizeOrigin(origin: string): string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new Error(`allowed WebSocket origin ${JSON.stringify(origin)} is not an origin like https://host[:port]`);
  }
  // URL.origin is "null" for schemes without an origin; a value with a path would never match.
  if (url.origin === "null" || url.origin !== origin.toLowerCase().replace(/\/$/, "")) {
    throw new Error(`allowed WebSocket origin ${JSON.stringify(origin)} is not an origin like https://host[:port]`);
  }
  return url.origin;
}
