import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { Transform, pipeline } from 'node:stream';
import type { RegisteredFunction } from './coreApi';
import { httpTriggerMetadata } from './httpRpc';
import { invoke } from './invocation';
import { applyOutputs } from './outputs';
import type { TriggerDeps } from './queueTrigger';

/**
 * HTTP streaming as the host does it when the worker returns `HttpUri` from getCapabilities (host
 * `DefaultHttpProxyService.ForwardAsync`, a YARP forwarder): the invocation request carries an empty RpcHttp and
 * the request's Headers/Query/route values as trigger metadata, while the raw request (body streamed, never buffered)
 * is forwarded to the worker's HTTP server with `x-ms-invocation-id` and the X-Forwarded headers; the worker answers
 * on that connection and the answer is streamed back to the client. Non-HTTP outputs are applied after the
 * invocation, as in buffered mode.
 */

// YARP drops hop-by-hop headers in both directions.
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const agent = new Agent({ keepAlive: true });

export class RequestBodyTooLargeError extends Error {
  readonly code = 'RequestBodyTooLarge';
}

export interface ProxyRequest {
  bindingName: string;
  httpUri: URL;
  bodyLimit: number;
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
}

export async function proxyToWorker(deps: TriggerDeps, fn: RegisteredFunction, p: ProxyRequest): Promise<void> {
  const { req, res } = p;
  const invocationId = randomUUID();
  const headers: Record<string, string | string[]> = {};
  // YARP copies the request headers except hop-by-hop ones and Host (the destination's is used); the original host
  // travels as X-Forwarded-Host, which the library uses to rebuild the URL (createStreamRequest).
  for (const [name, values] of Object.entries(req.headersDistinct))
    if (values && !hopByHop.has(name) && name !== 'host') headers[name] = values;
  headers['x-ms-invocation-id'] = invocationId;
  headers['x-forwarded-host'] = req.headers.host ?? p.url.host;
  headers['x-forwarded-proto'] = 'http';
  if (req.socket.remoteAddress) headers['x-forwarded-for'] = req.socket.remoteAddress;

  const upstream = httpRequest(new URL(req.url ?? '/', p.httpUri), { method: req.method, headers, agent });
  let bytes = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > p.bodyLimit)
        done(
          new RequestBodyTooLargeError(
            `Request body exceeds FUNCTIONS_REQUEST_BODY_SIZE_LIMIT (${p.bodyLimit} bytes).`,
          ),
        );
      else done(null, chunk);
    },
  });
  let headReceived = false;
  const answered = new Promise<void>((resolve) => {
    upstream.on('response', (workerRes) => {
      headReceived = true;
      const out: Record<string, string | string[]> = {};
      for (const [name, values] of Object.entries(workerRes.headersDistinct))
        if (values && !hopByHop.has(name)) out[name] = name === 'set-cookie' ? values : values.join(', ');
      res.writeHead(workerRes.statusCode ?? 502, out);
      pipeline(workerRes, res, () => resolve());
    });
    upstream.on('error', () => resolve());
    res.on('close', () => resolve());
  });
  let tooLarge = false;
  pipeline(req, limit, upstream, (error) => {
    if (error instanceof RequestBodyTooLargeError) {
      tooLarge = true;
      if (!res.headersSent) res.writeHead(413, { connection: 'close' }).end();
      else res.destroy(error);
    }
  });

  const invocation = invoke(deps, fn, {
    invocationId,
    // The host keeps the gRPC message minimal when proxying: an empty RpcHttp (ToRpcHttp, skipHttpInputs).
    inputData: [{ name: p.bindingName, data: { http: {} } }],
    triggerMetadata: httpTriggerMetadata(req.headersDistinct as Record<string, string[]>, p.url, p.params),
    bindingData: { ...Object.fromEntries(p.url.searchParams), ...p.params },
    reason: 'This function was programmatically called via the host APIs.',
  });
  try {
    const response = await invocation;
    await applyOutputs(fn, response, {
      messageEncoding: deps.config.queues.messageEncoding,
      bindingData: { ...Object.fromEntries(p.url.searchParams), ...p.params },
      notifyQueue: (queueName) => deps.notifyQueue(queueName),
    });
  } catch {
    // A failed invocation: the host answers 500 unless the worker has already started its answer.
    upstream.destroy();
    if (!res.headersSent && !tooLarge) res.writeHead(500).end();
    else if (!res.writableEnded) res.destroy();
    return;
  }
  // The worker has written its whole answer by now (the library awaits it inside getResponse). A handler that
  // returned nothing writes none: answer 204 No Content, as the host does when there is no HTTP output.
  const timer = setTimeout(() => {
    if (headReceived || res.headersSent) return;
    upstream.destroy();
    res.writeHead(204).end();
  }, noAnswerGraceMs);
  await answered;
  clearTimeout(timer);
}

const noAnswerGraceMs = 2000;
