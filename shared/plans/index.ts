/** Relational loads (several tables as one plan), the pure core. See shared/plans/README.md. */
export { PlanError, type PlanErrorCode } from './planError';
export { parsePlanFile, planFileSchema, type PlanFile, type PlanFileEntry } from './planDocument';
export { readPlanArchive, defaultPlanArchiveLimits, type PlanArchive, type ArchiveEntry } from './planArchive';
export { findTable, resolveTable, stemOf, type TableCatalogEntry, type ResolvedTable } from './tableResolution';
export { planTables, lookupEdges, columnsOfLookups, type PlanSource, type PlanTable } from './planTables';
export { orderPlan, type LookupEdge, type DeferredLookup, type PlanOrder } from './planOrder';
export { deferredBindKeys, splitBody, bindRequest, type SplitBody, type BindRequest } from './secondPass';
export { inFileReferences, unboundMessage, type RowReferences, type InFileDecision } from './inFileReferences';
export {
  preparePlan,
  type PreparedPlan,
  type PlanInput,
  type PlanDependencies,
  type PlanTableWithColumns,
} from './planPreparation';
export { readTableCatalog, tableCatalogPath } from './tableCatalogSource';
