/**
 * `npm run bench -- --parts references` (issue 15, the second pass of one file): N accounts of which 30 % name a
 * parent account later in the same file (some in chains), loaded through the local host against the emulator,
 * against the same rows with the parent column left empty (no second pass). Reports rows/s of each and the ratio;
 * the target for plans is ≥ 80 %. Run alone: `node dist/bench/inFileReferences.js [rows]`.
 */
import { postLoad, waitForLoad } from './loadBenchmark';
import { startLocalStack, type LocalStack } from '../dev/host/localStack';

export interface InFileReferencesRow {
  rows: number;
  withReferences: { seconds: number; rowsPerSecond: number; bound: number; failed: number };
  withoutReferences: { seconds: number; rowsPerSecond: number; failed: number };
  /** withReferences.rowsPerSecond ÷ withoutReferences.rowsPerSecond. */
  ratio: number;
}

/** Row i is `<tag>-i`; 30 % of rows (i % 10 < 3) name row i + 37 (chains where that row names another). */
function referencesCsv(rows: number, tag: string, withReferences: boolean): { text: string; references: number } {
  const lines = ['accountnumber,name,parentaccountid'];
  let references = 0;
  for (let i = 1; i <= rows; i++) {
    const parent = withReferences && i % 10 < 3 && i + 37 <= rows ? `${tag}-${i + 37}` : '';
    if (parent) references++;
    lines.push(`${tag}-${i},Account ${i},${parent}`);
  }
  return { text: lines.join('\r\n') + '\r\n', references };
}

async function timedLoad(stack: LocalStack, text: string) {
  const started = Date.now();
  const { id } = await postLoad(stack.api, 'account', text);
  const view = await waitForLoad(() => stack.api, id, { timeoutMs: 30 * 60_000 });
  const seconds = (Date.now() - started) / 1000;
  return {
    seconds: Math.round(seconds * 10) / 10,
    rowsPerSecond: Math.round(view.counts.succeeded / seconds),
    failed: view.counts.failed,
  };
}

async function boundParents(stack: LocalStack): Promise<number> {
  let bound = 0;
  let next: string | undefined = `${stack.dataverse}accounts?$select=_parentaccountid_value`;
  while (next) {
    const response = await fetch(next, { headers: { authorization: 'Bearer bench', accept: 'application/json' } });
    const page = (await response.json()) as { value: { _parentaccountid_value: string | null }[] };
    bound += page.value.filter((a) => a._parentaccountid_value).length;
    next = (page as { '@odata.nextLink'?: string })['@odata.nextLink'];
  }
  return bound;
}

export async function measureInFileReferences(
  options: { rows?: number; latency?: { baseMs: number; perOperationMs: number } } = {},
): Promise<InFileReferencesRow> {
  const rows = options.rows ?? 10_000;
  const latency = options.latency ?? { baseMs: 20, perOperationMs: 0.2 };
  const stack = await startLocalStack({
    files: ['dist/functions/load*.js'],
    blobScanIntervalMs: 500,
    hostJson: { extensions: { queues: { maxPollingInterval: '00:00:00.500', batchSize: 16, newBatchThreshold: 8 } } },
    emulator: { latency: { ...latency, perTable: {} } },
  });
  const text = JSON.stringify({ lookups: { parentaccountid: { attribute: 'parentaccountid', by: 'accountnumber' } } });
  try {
    const { BlobServiceClient } = await import('@azure/storage-blob');
    await BlobServiceClient.fromConnectionString(stack.storage)
      .getContainerClient('incoming')
      .getBlockBlobClient('account/_profile.json')
      .upload(text, text.length);
    stack.emulator!.reset();
    const without = await timedLoad(stack, referencesCsv(rows, 'N', false).text);
    stack.emulator!.reset();
    const csv = referencesCsv(rows, 'R', true);
    const withRefs = await timedLoad(stack, csv.text);
    const bound = await boundParents(stack);
    return {
      rows,
      withReferences: { ...withRefs, bound },
      withoutReferences: without,
      ratio: Math.round((withRefs.rowsPerSecond / without.rowsPerSecond) * 100) / 100,
    };
  } finally {
    await stack.stop();
  }
}

export function formatInFileReferences(r: InFileReferencesRow): string {
  return (
    `in-file references, ${r.rows} accounts (30 % name a later row): ${r.withReferences.rowsPerSecond} rows/s ` +
    `(${r.withReferences.seconds} s, ${r.withReferences.bound} parents bound, ${r.withReferences.failed} failed) vs ` +
    `${r.withoutReferences.rowsPerSecond} rows/s without references (${r.withoutReferences.seconds} s): ratio ${r.ratio}`
  );
}

if (require.main === module) {
  void measureInFileReferences({ rows: Number(process.argv[2] ?? 10_000) }).then(
    (r) => console.log(`${formatInFileReferences(r)}\n${JSON.stringify(r)}`),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
