import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { RegisteredFunction, RpcHttpData } from './coreApi';
import {
  declaredContentLength,
  formatSetCookie,
  methodTakesBody,
  requestBodySizeLimit,
  toRpcHttpRequest,
} from './httpRpc';
import { proxyToWorker } from './httpProxy';
import { invoke } from './invocation';
import { applyOutputs } from './outputs';
import type { TriggerDeps } from './queueTrigger';
import { compareRoutes, compileRouteTemplate, matchRoute, type RouteTemplate } from './routeTemplate';

/**
 * Function keys, like Core Tools: nothing is enforced unless a key is configured; then `function` level needs the
 * function's key, the host key or the master key (header `x-functions-key` or query `code`), `admin` the master key.
 */
export interface HttpKeys {
  host?: string;
  master?: string;
  functions?: Record<string, string>;
}

interface HttpRoute {
  fn: RegisteredFunction;
  bindingName: string;
  route: RouteTemplate;
  methods: Set<string> | undefined;
  authLevel: 'anonymous' | 'function' | 'admin';
}

export class HttpTriggers {
  readonly #deps: TriggerDeps;
  readonly #keys: HttpKeys;
  readonly #routes: HttpRoute[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #bodyLimit: number;
  /** The worker's HTTP server (`HttpUri` from getCapabilities) when the app streams HTTP: requests are proxied there. */
  readonly #httpUri?: URL;
  #server?: Server;
  #accepting = true;

  constructor(deps: TriggerDeps, keys: HttpKeys, options: { httpUri?: string; env?: NodeJS.ProcessEnv } = {}) {
    this.#deps = deps;
    this.#keys = keys;
    this.#bodyLimit = requestBodySizeLimit(options.env);
    this.#httpUri = options.httpUri ? new URL(options.httpUri) : undefined;
  }

  get streaming(): boolean {
    return this.#httpUri !== undefined;
  }

  get routePrefix(): string {
    return this.#deps.config.routePrefix;
  }

  add(fn: RegisteredFunction, bindingName: string): void {
    const binding = fn.metadata.bindings[bindingName]!;
    const methods =
      Array.isArray(binding.methods) && binding.methods.length > 0
        ? new Set(binding.methods.map((m) => String(m).toUpperCase()))
        : undefined;
    const level = typeof binding.authLevel === 'string' ? binding.authLevel.toLowerCase() : 'function';
    this.#routes.push({
      fn,
      bindingName,
      // The route defaults to the function name (host, not library).
      route: compileRouteTemplate(typeof binding.route === 'string' ? binding.route : fn.metadata.name),
      methods,
      authLevel: level === 'anonymous' || level === 'admin' ? level : 'function',
    });
    this.#routes.sort((a, b) => compareRoutes(a.route, b.route));
  }

  /** `GET,POST api/items/{id}` lines for the banner. */
  describe(): { name: string; methods: string; route: string }[] {
    return this.#routes.map((r) => ({
      name: r.fn.metadata.name,
      methods: r.methods ? [...r.methods].join(',') : 'ALL',
      route: [this.routePrefix, r.route.template.replace(/^\/+/, '')].filter(Boolean).join('/'),
    }));
  }

  async listen(port: number, hostname: string): Promise<number> {
    const server = createServer((req, res) => {
      const work = this.#handle(req, res).catch((error: Error) => {
        this.#deps.log({
          level: 'error',
          category: 'host',
          message: `HTTP ${req.method} ${req.url}: ${error.message}`,
        });
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
      this.#inFlight.add(work);
      void work.finally(() => this.#inFlight.delete(work));
    });
    server.keepAliveTimeout = 5000;
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, hostname, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  /** Stops accepting requests and waits for the ones in flight. */
  async close(): Promise<void> {
    this.#accepting = false;
    const server = this.#server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await Promise.allSettled([...this.#inFlight]);
    server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.#accepting) {
      res.writeHead(503, { connection: 'close' }).end();
      return;
    }
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    const method = (req.method ?? 'GET').toUpperCase();
    if (url.pathname === '/' || url.pathname === '/admin/host/status') {
      const body = JSON.stringify({ state: 'Running', functions: this.describe() });
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body);
      return;
    }
    const prefix = this.routePrefix === '' ? '' : `/${this.routePrefix}`;
    const lowerPath = url.pathname.toLowerCase();
    if (prefix !== '' && lowerPath !== prefix.toLowerCase() && !lowerPath.startsWith(`${prefix.toLowerCase()}/`)) {
      res.writeHead(404).end();
      return;
    }
    const path = url.pathname.slice(prefix.length);
    let found: { route: HttpRoute; params: Record<string, string> } | undefined;
    for (const route of this.#routes) {
      if (route.methods && !route.methods.has(method)) continue;
      const params = matchRoute(route.route, path);
      if (params) {
        found = { route, params };
        break;
      }
    }
    if (!found) {
      res.writeHead(404).end();
      return;
    }
    const { route, params } = found;
    if (!this.#authorized(route, req, url)) {
      res.writeHead(401).end();
      return;
    }
    // Kestrel's MaxRequestBodySize: a declared length over the limit is refused before anything runs.
    const contentLength = declaredContentLength(req.headers);
    if (contentLength !== undefined && contentLength > this.#bodyLimit) {
      // The body is read and dropped, so a client still uploading gets to read the answer.
      res.writeHead(413).end();
      req.resume();
      return;
    }
    if (this.#httpUri) {
      await proxyToWorker(this.#deps, route.fn, {
        bindingName: route.bindingName,
        httpUri: this.#httpUri,
        bodyLimit: this.#bodyLimit,
        req,
        res,
        url,
        params,
      });
      return;
    }
    // Buffered (no streaming): the host reads a body only when the request declares one (ContentLength > 0).
    const body =
      contentLength !== undefined && contentLength > 0
        ? await readBody(req, this.#bodyLimit)
        : (req.resume(), undefined);
    if (body === 'too-large') {
      res.writeHead(413, { connection: 'close' }).end();
      return;
    }
    const http: RpcHttpData = toRpcHttpRequest({
      method,
      url,
      headers: req.headersDistinct as Record<string, string[]>,
      params,
      body: methodTakesBody(method) ? body : undefined,
    });
    const query = Object.fromEntries(url.searchParams);
    const response = await invoke(this.#deps, route.fn, {
      inputData: [{ name: route.bindingName, data: { http } }],
      bindingData: { ...query, ...params },
      reason: `This function was programmatically called via the host APIs.`,
    }).catch(() => undefined);
    if (!response) {
      res.writeHead(500).end();
      return;
    }
    await applyOutputs(route.fn, response, {
      messageEncoding: this.#deps.config.queues.messageEncoding,
      bindingData: { ...query, ...params },
      notifyQueue: this.#deps.notifyQueue,
    });
    const httpOut = Object.entries(route.fn.metadata.bindings).find(
      ([, b]) => b.direction === 'out' && String(b.type).toLowerCase() === 'http',
    );
    const data = httpOut
      ? httpOut[0] === '$return'
        ? response.returnValue
        : response.outputData.find((o) => o.name === httpOut[0])?.data
      : undefined;
    writeResponse(res, data?.http ?? undefined, method);
  }

  #authorized(route: HttpRoute, req: IncomingMessage, url: URL): boolean {
    if (route.authLevel === 'anonymous') return true;
    const { host, master, functions } = this.#keys;
    const functionKey = functions?.[route.fn.metadata.name];
    if (!host && !master && !functionKey) return true; // local: no keys configured, nothing enforced
    const header = req.headers['x-functions-key'];
    const presented = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('code') ?? '';
    const accepted = route.authLevel === 'admin' ? [master ?? host] : [functionKey, host, master];
    return accepted.some((key) => key !== undefined && key !== '' && safeEqual(key, presented));
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function writeResponse(res: ServerResponse, http: RpcHttpData | undefined, method: string): void {
  if (!http) {
    // No HTTP output: the host answers 204 No Content.
    res.writeHead(204).end();
    return;
  }
  const status = Number(http.statusCode ?? 200) || 200;
  for (const [name, value] of Object.entries(http.headers ?? {})) res.setHeader(name, value);
  const cookies = (http.cookies ?? []).map(formatSetCookie);
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  const bytes =
    http.body?.bytes ??
    (http.body?.string !== undefined && http.body?.string !== null ? Buffer.from(http.body.string) : undefined);
  res.writeHead(status);
  res.end(method === 'HEAD' || !bytes ? undefined : Buffer.from(bytes));
}
