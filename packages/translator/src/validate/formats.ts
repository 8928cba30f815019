/**
 * The `well_known` string formats of PGV's StringRules, written from their definitions in
 * validate.proto (which points at the RFCs) rather than translated from PGV's generated code.
 *
 * - hostname: RFC 1034 labels of letters, digits and hyphens, 1-63 characters each, not starting or
 *   ending with a hyphen; at most 253 characters; one trailing dot allowed.
 * - ip / ipv4 / ipv6: textual addresses without prefix length or zone.
 * - address: a hostname or an IP.
 * - email: RFC 5322 addr-spec (dot-atom local part, hostname domain), without display names.
 * - uri (absolute) / uri_ref (absolute or relative): RFC 3986 characters and percent-escapes.
 * - uuid: RFC 4122 8-4-4-4-12 hex.
 * - well_known_regex: HTTP header names (RFC 7230 token, optionally behind one ':' for HTTP/2
 *   pseudo-headers) and values; `strict: false` only forbids NUL, CR and LF, as PGV defines it.
 */

export function isHostname(s: string): boolean {
  const h = s.endsWith(".") ? s.slice(0, -1) : s;
  if (h.length === 0 || h.length > 253) return false;
  for (const label of h.split(".")) {
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label)) return false;
  }
  return true;
}

export function isIPv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^(?:0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

export function isIPv6(s: string): boolean {
  if (s.length < 2 || s.length > 45) return false;
  const halves = s.split("::");
  if (halves.length > 2) return false;
  const groups = (text: string): string[] | undefined => (text === "" ? [] : text.split(":"));
  const head = groups(halves[0] ?? "");
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : [];
  if (!head || !tail) return false;
  const all = [...head, ...tail];
  let count = all.length;
  const last = all[all.length - 1];
  if (last !== undefined && last.includes(".")) {
    if (!isIPv4(last)) return false;
    all.pop();
    count += 1; // an embedded IPv4 address fills two groups
  }
  if (!all.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  return halves.length === 2 ? count <= 7 : count === 8;
}

export function isIP(s: string): boolean {
  return isIPv4(s) || isIPv6(s);
}

export function isAddress(s: string): boolean {
  return isHostname(s) || isIP(s);
}

export function isEmail(s: string): boolean {
  if (s.length > 254) return false;
  const at = s.lastIndexOf("@");
  if (at <= 0 || at > 64) return false;
  const local = s.slice(0, at);
  return /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/.test(local) && isHostname(s.slice(at + 1));
}

const uriChars = /^(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/;

export function isUri(s: string): boolean {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:(.*)$/s.exec(s);
  return m !== null && uriChars.test(m[1] ?? "") && hasValidAuthority(s);
}

export function isUriRef(s: string): boolean {
  return uriChars.test(s) && hasValidAuthority(s);
}

function hasValidAuthority(s: string): boolean {
  // "scheme://[authority]/..." : a bracketed host must be an IPv6 literal.
  const m = /^(?:[A-Za-z][A-Za-z0-9+.-]*:)?\/\/([^/?#]*)/.exec(s);
  if (!m) return true;
  const authority = m[1] ?? "";
  const host = authority.slice(authority.lastIndexOf("@") + 1);
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    return close > 0 && isIPv6(host.slice(1, close)) && /^(?::\d*)?$/.test(host.slice(close + 1));
  }
  return !host.includes("[") && !host.includes("]");
}

export function isUuid(s: string): boolean {
  return /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/.test(s);
}

/** RFC 7230 token characters; a leading ':' allows HTTP/2 pseudo-headers (":authority"). */
const headerNameStrict = /^:?[0-9A-Za-z!#$%&'*+\-.^_`|~]+$/;

export function isHeaderName(s: string, strict: boolean): boolean {
  return strict ? headerNameStrict.test(s) : !hasForbidden(s, false);
}

export function isHeaderValue(s: string, strict: boolean): boolean {
  return !hasForbidden(s, strict);
}

/**
 * Strict header values admit no control characters except horizontal tab (RFC 7230 field-value);
 * `strict: false` only forbids NUL, LF and CR.
 */
function hasForbidden(s: string, strict: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (strict ? (c < 0x20 && c !== 0x09) || c === 0x7f : c === 0x00 || c === 0x0a || c === 0x0d) return true;
  }
  return false;
}

/**
 * Compiles a PGV `pattern` (RE2 syntax) to a JS RegExp. Envoy's patterns are simple; the RE2-only
 * constructs that matter are rewritten: named groups `(?P<n>...)`, `\z`, and leading inline flags
 * `(?i)` / `(?s)`. Returns undefined if the pattern does not compile.
 */
export function compileRe2(pattern: string): RegExp | undefined {
  let source = pattern.replace(/\(\?P</g, "(?<").replace(/\\z/g, "(?![\\s\\S])");
  let flags = "u";
  const inline = /^\(\?([ims]+)\)/.exec(source);
  if (inline) {
    source = source.slice(inline[0].length);
    flags += inline[1] ?? "";
  }
  try {
    return new RegExp(source, flags);
  } catch {
    try {
      return new RegExp(source, flags.replace("u", ""));
    } catch {
      return undefined;
    }
  }
}
