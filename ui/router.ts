/** Hash routes (`#/loads/{id}`, `#/imports/{id}`, `#/plans/{id}`), so the whole page is one HTTP route and links work with the key. */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  { page: 'list' } | { page: 'load'; id: string } | { page: 'job'; id: string } | { page: 'plan'; id: string };

export function parseRoute(hash: string): Route {
  const m = /^#\/(loads|imports|plans)\/([^/?#]+)/.exec(hash);
  if (!m) return { page: 'list' };
  const id = decodeURIComponent(m[2]!);
  return m[1] === 'loads' ? { page: 'load', id } : m[1] === 'plans' ? { page: 'plan', id } : { page: 'job', id };
}

export const loadHref = (id: string) => `#/loads/${encodeURIComponent(id)}`;
export const jobHref = (id: string) => `#/imports/${encodeURIComponent(id)}`;
export const planHref = (id: string) => `#/plans/${encodeURIComponent(id)}`;

export function navigate(href: string): void {
  location.hash = href.slice(1);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
