// Event Grid system topic of the storage account. Flex Consumption runs blob triggers only with
// source 'EventGrid'; the event subscriptions to the blobs_extension webhook are created after the code is
// deployed (infra/eventgrid/subscriptions.bicep, azd postdeploy hook), since the webhook key exists only then.
param name string
param location string
param tags object = {}
param storageAccountName string

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    source: storageAccount.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output name string = systemTopic.name
