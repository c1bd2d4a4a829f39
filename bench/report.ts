/** The printed report: plain-text tables from the results JSON (pure). */
type Row = Record<string, unknown>;

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [
    line(headers),
    `|${widths.map((w, i) => (i === 0 ? '-' : '') + '-'.repeat(w + 1) + (i === 0 ? '' : ':')).join('|')}|`,
    ...cells.slice(1).map(line),
  ].join('\n');
}

const n0 = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');
const pct = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? `${(v * 100).toFixed(0)}%` : '–');
const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '–');
const size = (rows: number) =>
  rows >= 1_000_000 ? `${rows / 1_000_000}M` : rows >= 1000 ? `${rows / 1000}k` : String(rows);

export function formatReport(results: Row): string {
  const out: string[] = [];
  const throughput = results.throughput as Row[] | undefined;
  if (throughput) {
    out.push('Throughput (real rows/s against the time-scaled emulator; "of ceiling" = ÷ best ceiling)');
    out.push(
      table(
        [
          'rows',
          'loader',
          'batch',
          'sent as',
          'requests ($batch)',
          'rows/s',
          'Dataverse-time rows/s',
          'ceiling @batch',
          'of ceiling',
          'seconds',
          '429s',
          'note',
        ],
        throughput.map((r) => [
          size(r.rows as number),
          String(r.loader),
          String(r.batchSize),
          r.shape === 'bulk' ? 'CreateMultiple' : r.shape === 'batch' ? '$batch' : '–',
          `${n0(r.requests)} (${n0(r.batchRequests)})`,
          n0(r.rowsPerSecond),
          n0(r.dataverseRowsPerSecond),
          n0(r.ceilingAtBatchSize),
          pct(r.ofCeiling),
          (r.seconds as number).toFixed(1),
          n0(r.throttled),
          typeof r.error === 'string' ? r.error : '',
        ]),
      ),
    );
    const bySize = new Map<number, Row[]>();
    for (const r of throughput) bySize.set(r.rows as number, [...(bySize.get(r.rows as number) ?? []), r]);
    const ratios: (string | number)[][] = [];
    for (const [rows, list] of bySize) {
      const rate = (name: string) => list.find((r) => r.loader === name)?.rowsPerSecond as number | undefined;
      const ours = rate('our pipeline') ?? rate('our client alone');
      const oursName = rate('our pipeline') !== undefined ? 'our pipeline' : 'our client alone';
      const ratio = (other: number | undefined) => (ours && other ? `${(ours / other).toFixed(1)}×` : '–');
      ratios.push([size(rows), oursName, ratio(rate('common script')), ratio(rate('ADF default'))]);
    }
    out.push('', table(['rows', 'ours =', '÷ common script (target ≥ 3×)', '÷ ADF default (target ≥ 5×)'], ratios));
    const best = results.bestCeiling as Row | undefined;
    if (best)
      out.push(
        `Best ceiling: ${n0(best.rowsPerSecond)} rows/s at batch ${text(best.batchSize)} by ${best.shape === 'bulk' ? 'CreateMultiple' : '$batch'} (${text(best.bound)} bound).`,
      );
    const bestBatch = (results.profile as Row | undefined)?.bestBatchCeiling as Row | undefined;
    if (bestBatch)
      out.push(
        `Best ceiling by $batch alone: ${n0(bestBatch.rowsPerSecond)} rows/s at batch ${text(bestBatch.batchSize)} (${text(bestBatch.bound)} bound).`,
      );
  }
  const engine = results.engine as Row[] | undefined;
  if (engine) {
    out.push('', 'Engine cost (CSV → converted rows → $batch bytes, no network) vs csv-parse alone');
    out.push(
      table(
        [
          'rows',
          'csv-parse rows/s (direct)',
          'csv-parse rows/s (stream)',
          'engine rows/s',
          'engine ÷ direct parser (target ≥ 40%)',
        ],
        engine.map((e) => [
          size(e.rows as number),
          n0(e.rawParserRowsPerSecond),
          n0(e.streamParserRowsPerSecond),
          n0(e.engineRowsPerSecond),
          pct(e.ratio),
        ]),
      ),
    );
  }
  const memory = results.memory as Row | Row[] | undefined;
  if (memory) {
    out.push('', 'Memory (peak RSS of the host)');
    if (Array.isArray(memory))
      out.push(
        table(
          ['rows', 'blob MB', 'peak RSS MB', 'target ≤ blob + 200 MB', 'pipeline rows/s'],
          memory.map((m) => [
            size(m.rows as number),
            n0(m.blobMB),
            n0(m.peakRssMB),
            (m.peakRssMB as number) <= (m.blobMB as number) + 200 ? 'met' : 'missed',
            n0(m.rowsPerSecond),
          ]),
        ),
      );
    else out.push(`not measured: ${String(memory.reason)}`);
  }
  const upload = results.upload as Row[] | undefined;
  if (upload) {
    out.push('', 'Upload (POST /api/loads/account, chunked, streamed into Blob Storage; peak RSS of the host)');
    out.push(
      table(
        ['upload MB', 'status', 'seconds', 'MB/s', 'blob MB', 'peak RSS MB', 'target < 300 MB'],
        upload.map((u) => [
          n0(u.uploadMB),
          text(u.status),
          text(u.seconds),
          n0(u.mbPerSecond),
          n0(u.blobMB),
          n0(u.peakHostRssMB),
          typeof u.peakHostRssMB === 'number' && u.status === 202 && u.peakHostRssMB < 300 ? 'met' : 'missed',
        ]),
      ),
    );
  }
  const async = results.async as Row | undefined;
  if (async) {
    const rps = async.requestsPerSweep as Row;
    const qps = async.solutionQueriesPerSweep as Row;
    out.push(
      '',
      `Background operations (${text(async.imports)} imports, poll every ${text(async.pollIntervalSeconds)} s)`,
    );
    out.push(
      table(
        [
          'final state → Table Storage median ms',
          'max ms',
          'target ms',
          'sweeps',
          'requests/sweep median (max)',
          'solution queries/sweep median (max)',
        ],
        [
          [
            n0(async.lagMedianMs),
            n0(async.lagMaxMs),
            n0(async.targetMs),
            n0(async.sweeps),
            `${n0(rps.median)} (${n0(rps.max)})`,
            `${n0(qps.median)} (${n0(qps.max)})`,
          ],
        ],
      ),
    );
  }
  const emulator = results.emulator as Row | undefined;
  if (emulator && emulator.available === false)
    out.push('', `Emulator throughput: not measured: ${String(emulator.reason)}`);
  else if (Array.isArray(emulator))
    out.push(
      '',
      'Emulator throughput (zero latency, in one process with its client)',
      ...emulator.map((e) => `  ${JSON.stringify(e)}`),
    );
  return out.join('\n');
}
