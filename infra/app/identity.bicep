// The app's identities. The first reaches storage, Key Vault references and Application Insights, and in
// managedIdentity mode it is the default Dataverse application user. Identities 2…count exist only to be further
// application users (service protection limits are per user, issue 17): they need no storage, vault or
// monitoring role, because the app reaches those with the first identity.
param name string
param location string
param tags object = {}
@minValue(1)
param count int = 1

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

resource extraIdentities 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = [for i in range(2, count - 1): {
  name: '${name}-${i}'
  location: location
  tags: tags
}]

output resourceId string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
// Identities 2…count, in order.
output extraResourceIds array = [for i in range(0, count - 1): extraIdentities[i].id]
output extraClientIds array = [for i in range(0, count - 1): extraIdentities[i].properties.clientId]
