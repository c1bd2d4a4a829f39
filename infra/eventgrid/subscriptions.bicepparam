// Values come from the azd environment, which holds the outputs of infra/main.bicep (the hook runs with it).
using './subscriptions.bicep'

param functionAppName = readEnvironmentVariable('AZURE_FUNCTION_APP_NAME')
param systemTopicName = readEnvironmentVariable('AZURE_EVENT_GRID_SYSTEM_TOPIC')
param loadContainerName = readEnvironmentVariable('LOAD_CONTAINER', 'incoming')
param solutionsContainerName = readEnvironmentVariable('SOLUTIONS_CONTAINER', 'solutions')
