/**
 * Child process of the workbook part: reads one file through openFile and prints its row count, time and peak RSS
 * (getrusage maxRSS), so the measurement is of the reader alone, not of the bench that generated the file.
 */
import { createReadStream } from 'node:fs';
import { openFile } from '../shared/ingestion/readers/fileReader';

async function main(): Promise<void> {
  const path = process.argv[2]!;
  const baselineRssMB = process.memoryUsage().rss / 1024 / 1024;
  const started = performance.now();
  const file = await openFile(createReadStream(path), { fileName: path });
  let rows = 0;
  let failed = 0;
  for await (const row of file.rows) {
    rows++;
    if (!row.ok) failed++;
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify({
      rows,
      failed,
      seconds: Math.round(seconds * 10) / 10,
      rowsPerSecond: Math.round(rows / seconds),
      baselineRssMB: Math.round(baselineRssMB),
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
