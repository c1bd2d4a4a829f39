// The Azure Monitor workbook of the loader's telemetry (docs/observability.md): throughput per load, rows by
// outcome, slowest tables, throttling per hour, failed rows by error code, requests by status, concurrency and the
// AsyncOperation poll lag, over the Application Insights component the app exports to. The queries are in
// workbook.json; test/infra checks that every metric and dimension they name is one the app emits.
param applicationInsightsName string
param location string
param tags object = {}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // A workbook's name must be a GUID: stable per resource group, so redeploying updates it.
  name: guid(resourceGroup().id, applicationInsightsName, 'dataverse-loader-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Dataverse loader'
    category: 'workbook'
    sourceId: applicationInsights.id
    serializedData: string(loadJsonContent('workbook.json'))
  }
}

output workbookId string = workbook.id
