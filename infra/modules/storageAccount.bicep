// One storage account, its blob service settings, optional containers, and the data-plane roles the
// function app's managed identity gets on it. Used for the cache account (source region), the target
// account and the function app's deployment-package account.

@description('Storage account name: 3-24 lower-case letters and digits, globally unique.')
@minLength(3)
@maxLength(24)
param name string

@description('Region of the account.')
param location string

@description('Tags on the account.')
param tags object = {}

@description('Redundancy. Site Recovery wants the cache account Standard_LRS.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_RAGRS'
])
param skuName string = 'Standard_LRS'

@description('Shared Key (account key and SAS) access. The cache account needs it: the agent writes with a SAS.')
param allowSharedKeyAccess bool

@description('Blob soft delete. Off for cache and replica accounts: deltas and recovery-point snapshots are deleted on purpose and must not linger (Site Recovery requires it off on cache accounts).')
param blobSoftDelete bool = false

@description('Containers to create (tidemark creates its own on first use; this is for ones Azure needs up front).')
param containers array = []

@description('Principal (object) id of the managed identity that gets roleDefinitionIds on this account.')
param principalId string

@description('Built-in role definition ids (GUIDs) to assign to principalId on this account.')
param roleDefinitionIds array = []

var softDeleteOn = {
  enabled: true
  days: 7
}
var softDeleteOff = {
  enabled: false
}

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: allowSharedKeyAccess
    defaultToOAuthAuthentication: !allowSharedKeyAccess
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: blobSoftDelete ? softDeleteOn : softDeleteOff
    containerDeleteRetentionPolicy: softDeleteOff
  }
}

resource blobContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for container in containers: {
    parent: blobService
    name: container
    properties: {
      publicAccess: 'None'
    }
  }
]

resource roleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in roleDefinitionIds: {
    name: guid(account.id, principalId, roleId)
    scope: account
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

output name string = account.name
output id string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
