/** GET /api/ui: the status page (loads and jobs, progress, failed rows, retry, upload), one self-contained HTML answer. */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import './httpSetup'; // before any registration: every HTTP function streams
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { answerHttp } from '../shared/errors';
import { withInvocationLog } from '../shared/observability/invocationLog';
import { statusPage } from '../shared/statusPage';

export function uiHttp(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, (log) =>
    answerHttp(log, () => {
      const page = statusPage();
      return Promise.resolve({ status: 200, headers: page.headers, body: page.html });
    }),
  );
}

app.http('uiHttp', { methods: ['GET'], route: 'ui', authLevel: 'function', handler: uiHttp });
