/**
 * The local stack the CLI and status-page tests share: every function of the app (loads, jobs, the page) in the
 * host, on Azurite, against the emulator with a little latency so a load of a few thousand rows takes a few
 * seconds and its progress can be watched moving. Needs `npm run build` first (dist/).
 */
import { startLocalStack, type LocalStack } from '../../dev/host/localStack';
import { repoRoot } from './hostTestKit';

export function startClientStack(): Promise<LocalStack> {
  return startLocalStack({
    appDir: repoRoot,
    files: ['dist/functions/*.js'],
    port: 0,
    blobScanIntervalMs: 300,
    emulator: {
      latency: { baseMs: 20, perOperationMs: 2, perTable: {} },
      solutions: { timing: { queuedMs: 200, runMs: 1500 } },
    },
    hostJson: { extensions: { queues: { maxPollingInterval: '00:00:00.500' } } },
    env: {
      FUNCTIONS_HOST_KEY: '',
      ASYNC_POLL_SCHEDULE: '*/1 * * * * *',
      LOAD_SWEEP_SCHEDULE: '*/5 * * * * *',
    },
  });
}

/**
 * Accounts with bad rows a person can act on: 'n/a' employees (a conversion failure naming the column and the
 * value) every `badEvery` rows, and a parent account that does not exist (Dataverse refuses) every other time.
 */
export function accountsWithBadRows(rows: number, tag: string, badEvery = 10): { text: string; bad: number } {
  const lines = ['name,accountnumber,numberofemployees,parentaccountid'];
  let bad = 0;
  for (let row = 1; row <= rows; row++) {
    const isBad = row % badEvery === 3;
    const conversion = isBad && Math.floor(row / badEvery) % 2 === 0;
    if (isBad) bad++;
    lines.push(
      `Account ${tag}-${row},${tag}-${row},${conversion ? 'n/a' : row % 500},${isBad && !conversion ? '00000000-0000-0000-0000-0000000000ff' : ''}`,
    );
  }
  return { text: `${lines.join('\r\n')}\r\n`, bad };
}
