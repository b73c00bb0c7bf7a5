// Hash routing: #/teams/ICCT-007, #/teams?status=pending&offset=50. The hash never holds
// anything secret; it only says which page to show.

/** The current hash as path segments and query parameters. */
export function currentRoute() {
  const raw = window.location.hash.replace(/^#\/?/, '');
  const [path, search = ''] = raw.split('?');
  const segments = path.split('/').filter(Boolean).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return { segments, query: Object.fromEntries(new URLSearchParams(search)) };
}

/** A hash link: href('teams', 'ICCT-007') or href('teams', {status: 'pending'}). */
export function href(...parts) {
  const query = typeof parts.at(-1) === 'object' ? parts.pop() : null;
  let out = `#/${parts.map((p) => encodeURIComponent(p)).join('/')}`;
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '' && value !== 0) search.set(key, value);
  }
  if ([...search].length > 0) out += `?${search}`;
  return out;
}

/** Goes to a hash link; the hashchange listener renders the page. */
export function navigate(link) {
  if (window.location.hash === link) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else window.location.hash = link;
}

/**
 * The first route whose pattern matches: patterns are arrays of literal segments and ':name'
 * placeholders.
 */
export function matchRoute(routes, segments) {
  for (const route of routes) {
    if (route.pattern.length !== segments.length) continue;
    const params = {};
    const ok = route.pattern.every((part, i) => {
      if (part.startsWith(':')) {
        params[part.slice(1)] = segments[i];
        return true;
      }
      return part === segments[i];
    });
    if (ok) return { route, params };
  }
  return null;
}
