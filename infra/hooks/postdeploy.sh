#!/bin/sh
# azd postdeploy: creates the Event Grid subscriptions of the blob triggers (infra/eventgrid/subscriptions.bicep).
# Runs after the code is deployed because Event Grid validates the blobs_extension webhook on creation.
# azd runs hooks with the environment's values (main.bicep outputs) exported; needs the az CLI, signed in.
set -eu
: "${AZURE_RESOURCE_GROUP:?not set: run azd provision first}"
: "${AZURE_FUNCTION_APP_NAME:?not set: run azd provision first}"

attempt=1
until az deployment group create \
  --resource-group "$AZURE_RESOURCE_GROUP" \
  --name eventgrid-subscriptions \
  --template-file infra/eventgrid/subscriptions.bicep \
  --parameters infra/eventgrid/subscriptions.bicepparam \
  --output none; do
  # The first validation request may reach a host that is still starting (scale from zero).
  if [ "$attempt" -ge 5 ]; then
    echo "Event Grid subscriptions failed after $attempt attempts" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  echo "retrying the Event Grid subscriptions in 30 s (attempt $attempt)" >&2
  sleep 30
done
echo "Event Grid subscriptions in place for $AZURE_FUNCTION_APP_NAME"
