// Key Vault for the Dataverse client secret or certificate (PEM) and the job-events webhook URL. RBAC mode:
// the app's identity reads secrets as Key Vault Secrets User (rbac.bicep); app settings reference them with
// @Microsoft.KeyVault(SecretUri=...) resolved through keyVaultReferenceIdentity.
param name string
param location string
param tags object = {}

@secure()
@description('Secret name -> value, created here. Secrets left out are expected to be set by the operator (az keyvault secret set / certificate import).')
param secrets object = {}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
  }
}

resource secretResources 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for secret in items(secrets): {
  parent: vault
  name: secret.key
  properties: { value: secret.value }
}]

output name string = vault.name
output vaultUri string = vault.properties.vaultUri
