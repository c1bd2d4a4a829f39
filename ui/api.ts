/** The page's API client: the app it was served by, with the function key from the page's own `?code=`. */
import { createApiClient } from '../cli/apiClient';

const key = new URLSearchParams(location.search).get('code') ?? undefined;
// The page is {routePrefix}/ui; the API routes sit beside it.
const baseUrl = `${location.origin}${location.pathname.replace(/\/ui\/?$/, '')}`;

export const api = createApiClient({ baseUrl, ...(key ? { key } : {}) });
