/**
 * The solution operations of the emulator on a clock the test moves: no HTTP server, no timers.
 */
import type { Row, SolutionJson } from '../webApiJson';
import { createSolutionOperations } from '../../../../dev/emulator/solutions';
import { buildSolutionZipBase64, type SolutionZipOptions } from '../../../../dev/emulator/solutions/solutionZip';
import type { EmulatorRequest, EmulatorResponse } from '../../../../dev/emulator/types';

export const baseUrl = 'http://127.0.0.1:5555';
export const QUEUED = 1_000;
export const RUN = 10_000;

/** ImportSolutionAsync (or StageAndUpgradeAsync) parameters for a built solution zip, plus any `extra` ones. */
export const importParameters = (zip: SolutionZipOptions, extra: Record<string, unknown> = {}) => ({
  OverwriteUnmanagedCustomizations: false,
  PublishWorkflows: true,
  CustomizationFile: buildSolutionZipBase64(zip),
  ...extra,
});

export function setupSolutionEmulator(extra: { refusalStatus?: number } = {}) {
  let t = Date.UTC(2026, 0, 5, 9, 0, 0);
  const ops = createSolutionOperations({ baseUrl, timing: { queuedMs: QUEUED, runMs: RUN }, now: () => t, ...extra });
  const call = async (
    method: string,
    pathAndQuery: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<EmulatorResponse> => {
    const [path, query = ''] = pathAndQuery.split('?');
    const req: EmulatorRequest = {
      method,
      path: decodeURIComponent(path!),
      query: new URLSearchParams(query),
      headers,
      body: body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body),
      callerId: 'test-caller',
    };
    const res = await ops.route(req);
    if (!res) throw new Error(`route did not answer ${method} ${pathAndQuery}`);
    return res;
  };
  const importSolution = (zip: SolutionZipOptions, params: Record<string, unknown> = {}) =>
    call('POST', 'ImportSolutionAsync', importParameters(zip, params));
  const asyncOperation = async (id: string): Promise<SolutionJson> => {
    const res = await call('GET', `asyncoperations(${id})`);
    expect(res.status).toBe(200);
    return res.body as SolutionJson;
  };
  const solution = async (uniqueName: string): Promise<Row | undefined> => {
    const res = await call(
      'GET',
      `solutions?$filter=uniquename eq '${uniqueName}'&$select=uniquename,version,ismanaged,solutionid,friendlyname`,
    );
    expect(res.status).toBe(200);
    return (res.body as { value: Row[] }).value[0];
  };
  return {
    ops,
    call,
    importSolution,
    asyncOperation,
    solution,
    advance: (ms: number) => {
      t += ms;
    },
    finish: () => {
      t += QUEUED + RUN;
    },
  };
}
