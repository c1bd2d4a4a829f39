/**
 * Child process of the plans part: prepares and stages one plan file (zip or .xlsx) with the engine's own code
 * (preparePlan, then stagePlan into Azurite) and prints the time and its peak RSS (getrusage maxRSS), so the
 * figure is staging's alone, without the host or the bench that wrote the file.
 *   node dist/bench/planStagingChild.js <file> <storage connection string> <emulator Web API URL>
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createDataverseClient } from '../shared/dataverse/index';
import { createBlobSource } from '../shared/loads/blobSource';
import { createTableMetadataSource } from '../shared/loads/tableMetadataSource';
import { stagePlan } from '../shared/planLoads/planStaging';
import { preparePlan } from '../shared/plans/planPreparation';
import { readTableCatalog } from '../shared/plans/tableCatalogSource';

async function main(): Promise<void> {
  const [path, connectionString, webApiUrl] = process.argv.slice(2) as [string, string, string];
  const baselineRssMB = process.memoryUsage().rss / 2 ** 20;
  const client = createDataverseClient({
    webApiUrl,
    accessTokenSource: { getAccessToken: () => Promise.resolve('bench') },
  });
  const metadata = createTableMetadataSource(client);
  const deps = { catalog: await readTableCatalog(client), metadata: (t: string) => metadata.get(t) };
  const blobs = createBlobSource(BlobServiceClient.fromConnectionString(connectionString));
  const started = performance.now();
  const isZip = path.endsWith('.zip');
  const bytes = isZip ? await readFile(path) : undefined;
  const prepared = await preparePlan(
    bytes ? { kind: 'zip', bytes } : { kind: 'xlsx', source: createReadStream(path) },
    deps,
  );
  const prepareSeconds = (performance.now() - started) / 1000;
  const staged = await stagePlan(
    {
      planId: 'bench-staging',
      container: 'incoming',
      source: bytes ? { kind: 'zip', bytes } : { kind: 'xlsx', read: () => createReadStream(path) },
      prepared,
    },
    { blobs },
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify({
      tables: staged.map((s) => s.table),
      prepareSeconds: Math.round(prepareSeconds * 10) / 10,
      seconds: Math.round(seconds * 10) / 10,
      baselineRssMB: Math.round(baselineRssMB),
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
