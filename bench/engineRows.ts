/**
 * Our engine's path from a file to Dataverse requests, as the loads use it: openFile (decode, CSV) →
 * planLoad with the table's metadata → convertRow → create requests. Shared by the engine-cost part and the
 * client-only throughput loader.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import type { CreateRequest } from '../shared/dataverse/index';
import { planLoad } from '../shared/ingestion/loadPlan';
import { resolveLoadProfile } from '../shared/ingestion/loadProfile';
import { openFile } from '../shared/ingestion/readers/fileReader';
import { convertRow } from '../shared/ingestion/rowConversion';
import type { TableMetadata } from '../shared/ingestion/tableMetadata';

export interface EngineRowCounts {
  converted: number;
  failed: number;
  sourceFaults: number;
}

/** Create requests in groups of `groupSize`; `counts` fills in as rows are read. */
export async function* createRequestGroups(
  path: string,
  metadata: TableMetadata,
  groupSize: number,
  counts: EngineRowCounts,
): AsyncGenerator<CreateRequest[]> {
  const profile = resolveLoadProfile({ folderProfile: { operation: 'create', executionMode: 'batch' } });
  const opened = await openFile(createReadStream(path, { highWaterMark: 1 << 16 }), { fileName: basename(path) });
  const plan = planLoad(metadata, profile, opened.columns);
  const fileKey = `bench:${basename(path)}`;
  let group: CreateRequest[] = [];
  try {
    for await (const row of opened.rows) {
      if (!row.ok) {
        counts.sourceFaults++;
        continue;
      }
      const converted = convertRow(plan, row, { fileKey });
      if (!converted.ok) {
        counts.failed++;
        continue;
      }
      counts.converted++;
      group.push({
        kind: 'create',
        entitySetName: plan.table.entitySetName,
        primaryIdAttribute: plan.table.primaryIdAttribute,
        attributes: converted.body,
      });
      if (group.length >= groupSize) {
        yield group;
        group = [];
      }
    }
    if (group.length > 0) yield group;
  } finally {
    await opened.close();
  }
}
