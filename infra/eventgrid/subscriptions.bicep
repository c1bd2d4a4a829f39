// Event subscriptions that drive the Event Grid–sourced blob triggers (Flex Consumption has no other kind).
// Deployed by the azd postdeploy hook, after the code: Event Grid validates the webhook when the subscription
// is created, and the blobs_extension system key only exists once the host has loaded the blob triggers.
targetScope = 'resourceGroup'

param functionAppName string
param systemTopicName string
@description('Container of the load files (LOAD_CONTAINER); trigger loadBlobTrigger, path incoming/{table}/{name}.')
param loadContainerName string = 'incoming'
@description('Container of the solution zips (SOLUTIONS_CONTAINER); trigger solutionBlobTrigger.')
param solutionsContainerName string = 'solutions'

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource functionAppHost 'Microsoft.Web/sites/host@2024-04-01' existing = {
  parent: functionApp
  name: 'default'
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

// One subscription per blob-trigger function: the webhook URL names the function.
var blobTriggers = [
  { functionName: 'loadBlobTrigger', container: loadContainerName }
  { functionName: 'solutionBlobTrigger', container: solutionsContainerName }
]

resource subscriptions 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = [for trigger in blobTriggers: {
  parent: systemTopic
  name: '${toLower(trigger.functionName)}-${trigger.container}'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${trigger.functionName}&code=${functionAppHost.listKeys().systemKeys.blobs_extension}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    filter: {
      includedEventTypes: [ 'Microsoft.Storage.BlobCreated' ]
      subjectBeginsWith: '/blobServices/default/containers/${trigger.container}/blobs/'
    }
    eventDeliverySchema: 'EventGridSchema'
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}]

output subscriptionNames array = [for (trigger, i) in blobTriggers: subscriptions[i].name]
