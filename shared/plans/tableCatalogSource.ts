/**
 * The tables a plan's file and sheet names are matched against: one `GET EntityDefinitions?$select=LogicalName,
 * EntitySetName,DisplayName,DisplayCollectionName` (metadata queries are not paged: every table comes in one answer),
 * display names taken from the user's localized label. Tables without an entity set (not exposed to the Web API)
 * can't be loaded and are left out.
 */
import { z } from 'zod';
import type { DataverseClient } from '../dataverse/index';
import type { TableCatalogEntry } from './tableResolution';

const labelSchema = z
  .object({
    UserLocalizedLabel: z.object({ Label: z.string() }).nullish(),
    LocalizedLabels: z.array(z.object({ Label: z.string() })).nullish(),
  })
  .nullish();

const catalogResponseSchema = z.object({
  value: z.array(
    z.object({
      LogicalName: z.string(),
      EntitySetName: z.string().nullish(),
      DisplayName: labelSchema,
      DisplayCollectionName: labelSchema,
    }),
  ),
});

export const tableCatalogPath = 'EntityDefinitions?$select=LogicalName,EntitySetName,DisplayName,DisplayCollectionName';

function labelText(label: z.infer<typeof labelSchema>): string | undefined {
  return label?.UserLocalizedLabel?.Label ?? label?.LocalizedLabels?.[0]?.Label ?? undefined;
}

export async function readTableCatalog(client: Pick<DataverseClient, 'send'>): Promise<TableCatalogEntry[]> {
  const response = await client.send({ method: 'GET', path: tableCatalogPath });
  const catalog: TableCatalogEntry[] = [];
  for (const t of catalogResponseSchema.parse(response.body).value) {
    if (!t.EntitySetName) continue;
    const displayName = labelText(t.DisplayName);
    const displayCollectionName = labelText(t.DisplayCollectionName);
    catalog.push({
      logicalName: t.LogicalName,
      entitySetName: t.EntitySetName,
      ...(displayName ? { displayName } : {}),
      ...(displayCollectionName ? { displayCollectionName } : {}),
    });
  }
  return catalog;
}
