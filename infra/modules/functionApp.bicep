// The function app on a Flex Consumption plan (Linux, Node.js 22), running as the user-assigned
// identity, with EVERY app setting shared/settings.ts marks "bicep" (test/unit/infra/drift.test.ts
// keeps the two in step; docs/settings.md explains each).
//
// Storage, as in the local stack: AzureWebJobsStorage (the Functions host's state and the Durable
// task hub) and TIDEMARK_TARGET_STORAGE are the target account; TIDEMARK_SOURCE_STORAGE is the cache
// account in the source region. The region connections are connection strings because tidemark signs
// each agent's cache SAS with the account key; AzureWebJobsStorage is identity-based. The deployment
// package sits in its own account, read with the identity.

@description('Name of the function app (globally unique; part of its host name).')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Region of the app: the target region.')
param location string

@description('Tags on the plan and the app.')
param tags object = {}

@description('Resource id of the user-assigned managed identity the app runs as.')
param identityId string

@description('Client id of that identity.')
param identityClientId string

@description('Name of the account (this resource group) that holds the deployment package.')
param deploymentStorageName string

@description('Container for the deployment package.')
param deploymentContainerName string

@description('Name of the target storage account (this resource group).')
param targetStorageName string

@description('Name of the cache storage account in the source region.')
param cacheStorageName string

@description('Resource group of the cache storage account.')
param cacheResourceGroupName string

@description('Name of the Application Insights component (this resource group).')
param appInsightsName string

@description('TIDEMARK_SOURCE_REGION: the source region.')
param sourceRegion string

@description('TIDEMARK_TARGET_REGION: the target region.')
param targetRegion string

@description('TIDEMARK_TASK_HUB: the Durable task hub.')
param taskHubName string

@description('TIDEMARK_RECOVERY_POINT_SCHEDULE: NCRONTAB with seconds.')
param recoveryPointSchedule string

@description('TIDEMARK_FABRIC: arm or local.')
@allowed([
  'arm'
  'local'
])
param fabric string

@secure()
@description('TIDEMARK_ALERT_SECRET: empty for none.')
param alertSecret string

@description('Largest number of instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory of each instance (MB).')
@allowed([
  2048
  4096
])
param instanceMemoryMB int

resource deploymentStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: deploymentStorageName
}

resource targetStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: targetStorageName
}

resource cacheStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: cacheStorageName
  scope: resourceGroup(cacheResourceGroupName)
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

var storageSuffix = environment().suffixes.storage

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${deploymentStorage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    // The Functions host's storage and the Durable task hub: the target account, with the identity.
    AzureWebJobsStorage__blobServiceUri: targetStorage.properties.primaryEndpoints.blob
    AzureWebJobsStorage__queueServiceUri: targetStorage.properties.primaryEndpoints.queue
    AzureWebJobsStorage__tableServiceUri: targetStorage.properties.primaryEndpoints.table
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    TIDEMARK_TASK_HUB: taskHubName
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    // Regions and their storage (connection strings: the agent's SAS is signed with the account key).
    TIDEMARK_SOURCE_REGION: sourceRegion
    TIDEMARK_TARGET_REGION: targetRegion
    TIDEMARK_SOURCE_STORAGE: 'DefaultEndpointsProtocol=https;AccountName=${cacheStorage.name};AccountKey=${cacheStorage.listKeys().keys[0].value};EndpointSuffix=${storageSuffix}'
    TIDEMARK_TARGET_STORAGE: 'DefaultEndpointsProtocol=https;AccountName=${targetStorage.name};AccountKey=${targetStorage.listKeys().keys[0].value};EndpointSuffix=${storageSuffix}'
    // Replication and alerts.
    TIDEMARK_RECOVERY_POINT_SCHEDULE: recoveryPointSchedule
    TIDEMARK_ALERT_SECRET: alertSecret
    // The fabric: Azure Resource Manager, signed in as the identity.
    TIDEMARK_FABRIC: fabric
    AZURE_SUBSCRIPTION_ID: subscription().subscriptionId
    AZURE_CLIENT_ID: identityClientId
    TIDEMARK_ARM_ENDPOINT: environment().resourceManager
  }
}

output name string = functionApp.name
output id string = functionApp.id
output defaultHostName string = functionApp.properties.defaultHostName
