// Path segments that are bearer secrets: calendar feed tokens, tracking tokens, invitation or guest links.
const SECRET_PATHS = [
  /^(\/api\/meetings\/feed\/)[^/?]+?(\.ics)?$/,
  /^(\/t\/[cob]\/)[^/?]+?(\.gif)?$/,
  // Newsletter one-click unsubscribe / preference center and double opt-in links.
  /^(\/u\/)[^/?]+?(\/preferences)?$/,
  /^(\/s\/confirm\/)[^/?]+?()$/,
  // Password reset links carry their token in the fragment; a link pasted as a path is a credential all the same.
  /^(\/reset-password\/)[^/?]+?()$/,
];
// Query parameters that carry a credential, whatever the route.
const SECRET_PARAM = /token|guest|secret|password|key|signature|code|auth/i;

/** A request URL fit for the log: every token in its path or query replaced by `[redacted]`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  let pathname = q === -1 ? url : url.slice(0, q);
  for (const pattern of SECRET_PATHS)
    pathname = pathname.replace(pattern, (_m, head, tail) => `${head}[redacted]${tail ?? ''}`);
  if (q === -1) return pathname;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq === -1) return pair;
      let name: string;
      try {
        name = decodeURIComponent(pair.slice(0, eq));
      } catch {
        name = pair.slice(0, eq);
      }
      return SECRET_PARAM.test(name) ? `${pair.slice(0, eq)}=[redacted]` : pair;
    })
    .join('&');
  return `${pathname}?${query}`;
}
