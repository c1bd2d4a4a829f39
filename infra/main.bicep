// Dataverse loader: Flex Consumption function app (Node 22) with identity-based storage, Application Insights
// (Entra auth), a user-assigned managed identity, Key Vault for a Dataverse client secret/certificate, and the
// Event Grid system topic for the blob triggers. `azd up` provisions this file, deploys the code, then the
// postdeploy hook creates the event subscriptions (infra/eventgrid/), which need the deployed code's webhook key.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; seeds the unique suffix of every resource name.')
param environmentName string

@minLength(1)
@description('Region of every resource (must offer Flex Consumption).')
@metadata({ azd: { type: 'location' } })
param location string

param resourceGroupName string = ''
param functionAppName string = ''
param storageAccountName string = ''
param identityName string = ''
param keyVaultName string = ''
param logAnalyticsName string = ''
param applicationInsightsName string = ''

@description('Object id of the person or pipeline running azd: gets data access to the storage account (drop files, read results). Empty: none.')
param principalId string = ''

// ---- Dataverse ------------------------------------------------------------------------------

@minLength(1)
@description('DATAVERSE_URL: environment (organization) URL, e.g. https://contoso.crm.dynamics.com')
param dataverseUrl string

@allowed([ 'managedIdentity', 'clientSecret', 'clientCertificate' ])
@description('DATAVERSE_AUTH. managedIdentity: the app\'s user-assigned identity is the Dataverse application user (no secret anywhere).')
param dataverseAuth string = 'managedIdentity'

@description('DATAVERSE_TENANT_ID (clientSecret/clientCertificate): tenant of the app registration. Empty: this subscription\'s tenant.')
param dataverseTenantId string = ''

@description('DATAVERSE_CLIENT_ID (clientSecret/clientCertificate): application (client) id of the app registration.')
param dataverseClientId string = ''

@secure()
@description('clientSecret mode: stored in Key Vault as dataverse-client-secret. Empty: set the secret in Key Vault yourself.')
param dataverseClientSecret string = ''

@secure()
@description('clientCertificate mode: PEM (private key + certificate), stored in Key Vault as dataverse-client-certificate. Empty: import it yourself.')
param dataverseClientCertificate string = ''

@allowed([ 'auto', 'batch', 'bulk' ])
param dataverseExecutionMode string = 'auto'

@minValue(1)
@maxValue(1000)
param dataverseMaxBatchSize int = 1000

// ---- Scale: instances x per-instance concurrency <= what Dataverse allows one application user ----------

@minValue(1)
@description('Concurrent Web API requests the whole app may make as its one application user. Dataverse allows 52 per user per web server; 52 stays within that even if every request lands on one server.')
param dataverseConcurrencyTarget int = 52

@minValue(1)
@maxValue(1000)
@description('Flex Consumption maximumInstanceCount, across all functions of the app.')
param maximumInstanceCount int = 4

@minValue(1)
@maxValue(20)
@description('User-assigned managed identities the app sends to Dataverse as (managedIdentity mode): each is one application user with its own service protection limits. The first is the app\'s own identity; 2…N are listed in DATAVERSE_IDENTITIES. Register each as an application user (docs/deploy.md).')
param dataverseIdentityCount int = 1

@minValue(0)
@description('DATAVERSE_DAILY_REQUEST_BUDGET: requests per rolling 24 h before new chunks wait (0: no budget, only metered).')
param dataverseDailyRequestBudget int = 0

@allowed([ 512, 2048, 4096 ])
param instanceMemoryMB int = 2048

// Each instance's client caps each identity at DATAVERSE_MAX_CONCURRENCY, so no identity (application user) ever
// exceeds maximumInstanceCount x perInstanceConcurrency <= dataverseConcurrencyTarget (4 x 13 = 52 by default), and
// the app as a whole instances x (perInstanceConcurrency x identities) <= 52 x identities.
var dataverseIdentities = dataverseAuth == 'managedIdentity' ? dataverseIdentityCount : 1
var perInstanceConcurrency = max(1, dataverseConcurrencyTarget / maximumInstanceCount)
// A queue function fetches batchSize more messages whenever no more than newBatchThreshold run (the host's
// QueueListener). A threshold at the client's cap over all identities keeps every request slot busy while the next
// batch is fetched; under the cap the slots drain to it first (8 of 4 identities' 16 slots: 69 % of their ceiling
// in the bench). A batch of half the cap bounds the messages waiting for a slot, each holding only its lease
// (chunkGate.ts): 13 + 6 with one identity. Set as host.json overrides so local runs keep host.json's values.
var perInstanceMessages = perInstanceConcurrency * dataverseIdentities
var queueNewBatchThreshold = perInstanceMessages
var queueBatchSize = min(32, max(1, perInstanceMessages / 2))

// ---- Names the app uses (defaults = the settings' defaults in shared/config) --------------------------

param loadContainerName string = 'incoming'
param loadResultsContainerName string = 'load-results'
param solutionsContainerName string = 'solutions'
param loadChunkQueueName string = 'load-chunks'
param asyncQueueName string = 'dataverse-async'
param jobEventsQueueName string = 'job-events'
param loadsTableName string = 'loads'
param loadRowsTableName string = 'loadrows'
param jobsTableName string = 'jobs'

// ---- Other app settings ----------------------------------------------------------------------

@minValue(1)
@maxValue(10000)
param loadChunkSize int = 1000
param loadMaxFileBytes int = 1073741824
param asyncPollSchedule string = '*/10 * * * * *'
@minValue(1)
@maxValue(10080)
param asyncMaxWaitMinutes int = 120
@secure()
@description('JOB_EVENTS_WEBHOOK_URL (optional): kept in Key Vault since such URLs carry a signature.')
param jobEventsWebhookUrl string = ''
@allowed([ 'error', 'warn', 'info', 'debug' ])
param logLevel string = 'info'

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var appName = !empty(functionAppName) ? functionAppName : '${abbrs.webSitesFunctions}dvload-${resourceToken}'
var deploymentContainerName = 'app-package-${take(resourceToken, 7)}'
var vaultName = !empty(keyVaultName) ? keyVaultName : '${abbrs.keyVaultVaults}${take(resourceToken, 20)}'
var useKeyVault = dataverseAuth != 'managedIdentity' || !empty(jobEventsWebhookUrl)
var systemTopicName = '${abbrs.eventGridDomainsTopics}storage-${resourceToken}'

// Queue triggers move a message to '<queue>-poison' after maxDequeueCount; blob triggers use webjobs-blobtrigger-poison.
var appQueues = [
  loadChunkQueueName
  '${loadChunkQueueName}-poison'
  asyncQueueName
  '${asyncQueueName}-poison'
  jobEventsQueueName
  'webjobs-blobtrigger-poison'
]

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: !empty(identityName) ? identityName : '${abbrs.managedIdentityUserAssignedIdentities}dvload-${resourceToken}'
    location: location
    tags: tags
    count: dataverseIdentities
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: !empty(storageAccountName) ? storageAccountName : '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    containers: [ deploymentContainerName, loadContainerName, loadResultsContainerName, solutionsContainerName ]
    queues: appQueues
    tables: [ loadsTableName, loadRowsTableName, jobsTableName, 'requestmeter' ]
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: !empty(logAnalyticsName) ? logAnalyticsName : '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: !empty(applicationInsightsName) ? applicationInsightsName : '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

// Charts of the app's OpenTelemetry metrics and log records (docs/observability.md).
module workbook 'app/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    location: location
    tags: tags
  }
}

module keyVault 'app/keyvault.bicep' = if (useKeyVault) {
  name: 'keyvault'
  scope: rg
  params: {
    name: vaultName
    location: location
    tags: tags
    secrets: union(
      dataverseAuth == 'clientSecret' && !empty(dataverseClientSecret) ? { 'dataverse-client-secret': dataverseClientSecret } : {},
      dataverseAuth == 'clientCertificate' && !empty(dataverseClientCertificate) ? { 'dataverse-client-certificate': dataverseClientCertificate } : {},
      !empty(jobEventsWebhookUrl) ? { 'job-events-webhook-url': jobEventsWebhookUrl } : {}
    )
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: useKeyVault ? vaultName : ''
    identityPrincipalId: identity.outputs.principalId
    deployerPrincipalId: principalId
  }
  dependsOn: [ keyVault ]
}

// Versionless Key Vault references: the app picks up a rotated secret without a redeploy.
var secretsUri = 'https://${vaultName}${environment().suffixes.keyvaultDns}/secrets'

// Every setting of shared/config/settings.ts that the app should not take from its default, and the names.
var appSettings = {
  DATAVERSE_URL: dataverseUrl
  DATAVERSE_AUTH: dataverseAuth
  DATAVERSE_AUTHORITY_HOST: environment().authentication.loginEndpoint
  DATAVERSE_MAX_BATCH_SIZE: string(dataverseMaxBatchSize)
  DATAVERSE_MAX_CONCURRENCY: string(perInstanceConcurrency)
  DATAVERSE_EXECUTION_MODE: dataverseExecutionMode
  LOAD_CONTAINER: loadContainerName
  LOAD_RESULTS_CONTAINER: loadResultsContainerName
  LOAD_CHUNK_QUEUE: loadChunkQueueName
  LOAD_CHUNK_SIZE: string(loadChunkSize)
  LOAD_MAX_FILE_BYTES: string(loadMaxFileBytes)
  // The host cuts HTTP bodies at this size (100 MiB when unset) before the app sees them: uploads up to
  // LOAD_MAX_FILE_BYTES (and imports up to their 100 MiB default) must get through.
  FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: string(max(loadMaxFileBytes, 104857600))
  LOADS_TABLE: loadsTableName
  LOAD_ROWS_TABLE: loadRowsTableName
  SOLUTIONS_CONTAINER: solutionsContainerName
  ASYNC_QUEUE: asyncQueueName
  JOBS_TABLE: jobsTableName
  JOB_EVENTS_QUEUE: jobEventsQueueName
  JOB_EVENTS_WEBHOOK_URL: empty(jobEventsWebhookUrl) ? '' : '@Microsoft.KeyVault(SecretUri=${secretsUri}/job-events-webhook-url)'
  ASYNC_POLL_SCHEDULE: asyncPollSchedule
  ASYNC_MAX_WAIT_MINUTES: string(asyncMaxWaitMinutes)
  DATAVERSE_DAILY_REQUEST_BUDGET: dataverseDailyRequestBudget > 0 ? string(dataverseDailyRequestBudget) : ''
  LOG_LEVEL: logLevel
  AzureFunctionsJobHost__extensions__queues__batchSize: string(queueBatchSize)
  AzureFunctionsJobHost__extensions__queues__newBatchThreshold: string(queueNewBatchThreshold)
}

// DATAVERSE_IDENTITIES for identities 2…N (JSON; no secret in it: managed identities have none).
var extraIdentities = [for (clientId, i) in identity.outputs.extraClientIds: { name: 'identity-${i + 2}', auth: 'managedIdentity', clientId: clientId }]
var extraIdentitiesSetting = dataverseIdentities > 1 ? string(extraIdentities) : ''

// The settings each DATAVERSE_AUTH mode needs; secrets only as Key Vault references.
var dataverseAuthAppSettings = {
  managedIdentity: {
    DATAVERSE_MANAGED_IDENTITY_CLIENT_ID: identity.outputs.clientId
    // Identities 2…N as further application users: each has its own service protection limits.
    DATAVERSE_IDENTITIES: extraIdentitiesSetting
  }
  clientSecret: {
    DATAVERSE_TENANT_ID: !empty(dataverseTenantId) ? dataverseTenantId : tenant().tenantId
    DATAVERSE_CLIENT_ID: dataverseClientId
    DATAVERSE_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${secretsUri}/dataverse-client-secret)'
  }
  clientCertificate: {
    DATAVERSE_TENANT_ID: !empty(dataverseTenantId) ? dataverseTenantId : tenant().tenantId
    DATAVERSE_CLIENT_ID: dataverseClientId
    DATAVERSE_CLIENT_CERTIFICATE: '@Microsoft.KeyVault(SecretUri=${secretsUri}/dataverse-client-certificate)'
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: appName
    location: location
    tags: tags
    serviceName: 'api'
    identityId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    extraIdentityIds: identity.outputs.extraResourceIds
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    appSettings: union(appSettings, dataverseAuthAppSettings[dataverseAuth])
  }
  // Key Vault references and identity-based storage resolve at start-up: the roles must exist first.
  dependsOn: [ rbac ]
}

module eventGrid 'app/eventgrid-topic.bicep' = {
  name: 'eventgrid-topic'
  scope: rg
  params: {
    name: systemTopicName
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
  }
}

// azd stores these in the environment; the postdeploy hook (infra/eventgrid/subscriptions.bicepparam) reads them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_EVENT_GRID_SYSTEM_TOPIC string = eventGrid.outputs.name
output AZURE_KEY_VAULT_NAME string = useKeyVault ? vaultName : ''
output DATAVERSE_APP_USER_CLIENT_ID string = dataverseAuth == 'managedIdentity' ? identity.outputs.clientId : dataverseClientId
output DATAVERSE_MAX_CONCURRENCY_PER_INSTANCE int = perInstanceConcurrency
// Client ids of identities 2…N: register each as an application user too (docs/deploy.md).
output DATAVERSE_EXTRA_APP_USER_CLIENT_IDS array = identity.outputs.extraClientIds
output LOAD_CONTAINER string = loadContainerName
output SOLUTIONS_CONTAINER string = solutionsContainerName
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
