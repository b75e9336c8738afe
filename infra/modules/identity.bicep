// The user-assigned managed identity the function app runs as: storage (AzureWebJobsStorage, the
// deployment package), Application Insights, and the ARM fabric (AZURE_CLIENT_ID).

@description('Name of the identity.')
param name string

@description('Region of the identity.')
param location string

@description('Tags on the identity.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
