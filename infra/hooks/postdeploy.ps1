# azd postdeploy (Windows): see postdeploy.sh.
$ErrorActionPreference = 'Stop'
if (-not $env:AZURE_RESOURCE_GROUP) { throw 'AZURE_RESOURCE_GROUP not set: run azd provision first' }
for ($attempt = 1; $attempt -le 5; $attempt++) {
  az deployment group create `
    --resource-group $env:AZURE_RESOURCE_GROUP `
    --name eventgrid-subscriptions `
    --template-file infra/eventgrid/subscriptions.bicep `
    --parameters infra/eventgrid/subscriptions.bicepparam `
    --output none
  if ($LASTEXITCODE -eq 0) { Write-Host "Event Grid subscriptions in place for $env:AZURE_FUNCTION_APP_NAME"; exit 0 }
  if ($attempt -lt 5) { Write-Warning "retrying the Event Grid subscriptions in 30 s"; Start-Sleep -Seconds 30 }
}
throw 'Event Grid subscriptions failed after 5 attempts'
