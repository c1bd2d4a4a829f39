/** Calls the record service's route directly with EmulatorRequest objects, as the server does. */
import { createRecordService, type RecordService, type TableSchemaJson } from '../../../../dev/emulator/records/index';
import type { EmulatorResponse } from '../../../../dev/emulator/types';
import type { WebApiJson } from '../webApiJson';

export type { Row, WebApiJson } from '../webApiJson';

export const orgUrl = 'http://127.0.0.1:5555';
export const webApi = `${orgUrl}/api/data/v9.2/`;

export interface Call {
  body?: unknown;
  headers?: Record<string, string>;
  caller?: string;
}

export interface Harness {
  service: RecordService;
  call: (method: string, target: string, options?: Call) => Promise<EmulatorResponse & { json: WebApiJson }>;
}

export function harness(schema?: TableSchemaJson): Harness {
  const service = createRecordService({ baseUrl: orgUrl, schema });
  return {
    service,
    async call(method, target, options = {}) {
      const q = target.indexOf('?');
      const path = q < 0 ? target : target.slice(0, q);
      const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(options.headers ?? {})) headers[k.toLowerCase()] = v;
      const body =
        options.body === undefined
          ? ''
          : typeof options.body === 'string'
            ? options.body
            : JSON.stringify(options.body);
      const res = await service.route({ method, path, query, headers, body, callerId: options.caller ?? 'caller-1' });
      if (!res) throw new Error(`route did not answer ${method} ${target}`);
      return { ...res, json: res.body as WebApiJson };
    },
  };
}

export const idFromEntityId = (res: EmulatorResponse): string => {
  const url = res.headers?.['OData-EntityId'] ?? '';
  const m = /\(([0-9a-f-]{36})\)$/.exec(url);
  if (!m) throw new Error(`no id in OData-EntityId '${url}'`);
  return m[1]!;
};
