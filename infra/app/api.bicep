// Flex Consumption plan + function app (Node 22). Storage is reached with the user-assigned identity
// (AzureWebJobsStorage__*), the deployment package too; telemetry goes to Application Insights with Entra auth.
param name string
param location string
param tags object = {}
@description('azd service name (azure.yaml services.<name>): azd deploys to the app tagged with it.')
param serviceName string = 'api'
param identityId string
param identityClientId string
@description('Further user-assigned identities (Dataverse application users 2…N), assigned to the app so it can get their tokens.')
param extraIdentityIds array = []
param storageAccountName string
param deploymentContainerName string
param applicationInsightsName string
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int
@allowed([ 512, 2048, 4096 ])
param instanceMemoryMB int = 2048
@description('The app\'s own settings (shared/config); merged with the platform settings below.')
param appSettings object

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${name}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

var identityEntries = [for id in concat([ identityId ], extraIdentityIds): '"${id}":{}']
var userAssignedIdentitiesJson = '{${join(identityEntries, ',')}}'

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    // One entry per identity (keys are resource ids, so the object is built from JSON when there are several).
    userAssignedIdentities: empty(extraIdentityIds) ? { '${identityId}': {} } : json(userAssignedIdentitiesJson)
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageAccount.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// Identity-based host storage: no connection string, no key (the account has shared keys off).
var platformSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: storageAccount.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storageAccount.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storageAccount.properties.primaryEndpoints.table
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

resource functionAppSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: union(appSettings, platformSettings)
}

output name string = functionApp.name
output uri string = 'https://${functionApp.properties.defaultHostName}'
