// tidemark in Azure (README "Deploy to Azure"): one resource group per region, the function app in the
// target region on Flex Consumption, the cache storage account in the source region, the target
// storage account, Application Insights, a user-assigned managed identity with the least roles it
// needs, Event Grid delivery of new deltas to the blob triggers, and the alert hook's action group.
//
// Deploy twice: first with appPublished=false (infrastructure), publish the app's code, then again with
// appPublished=true. The Event Grid subscriptions and the action group need keys and a webhook that
// only exist once the code runs.
//
//   az deployment sub create --location westus --template-file infra/main.bicep \
//     --parameters infra/main.parameters.json

targetScope = 'subscription'

// ── parameters ─────────────────────────────────────────────────────────────────────────────────

@description('Source region: where the protected VMs run. The cache storage account goes here.')
param sourceLocation string = 'eastus'

@description('Target region: where VMs fail over to. The function app, its storage and monitoring go here.')
param targetLocation string = 'westus'

@description('The source region as Service Health names it, for the sample alert rule (e.g. East US).')
param sourceRegionDisplayName string = 'East US'

@description('Prefix of every resource name: 2-10 lower-case letters and digits.')
@minLength(2)
@maxLength(10)
param namePrefix string = 'tidemark'

@description('Resource group of the source region (cache storage account and its Event Grid topic).')
param sourceResourceGroupName string = '${namePrefix}-${sourceLocation}'

@description('Resource group of the target region (function app, storage, monitoring, identity, alerts).')
param targetResourceGroupName string = '${namePrefix}-${targetLocation}'

@description('Existing resource groups in the source region whose VMs tidemark protects. The identity gets Virtual Machine and Network Contributor on each, and on its recovery group in the target region.')
param protectedResourceGroupNames array = []

@description('Suffix of each protected group\'s recovery group in the target region, created here (Site Recovery names it <group>-asr).')
param recoveryResourceGroupSuffix string = '-asr'

@description('Which fabric VMs live in: arm (Azure Resource Manager) or local (the table-backed demo fabric).')
@allowed([
  'arm'
  'local'
])
param fabric string = 'arm'

@description('When recovery points are cut: NCRONTAB with seconds (TIDEMARK_RECOVERY_POINT_SCHEDULE).')
param recoveryPointSchedule string = '0 */5 * * * *'

@description('Durable Functions task hub: 3-45 letters and digits (TIDEMARK_TASK_HUB).')
@minLength(3)
@maxLength(45)
param taskHubName string = 'tidemark'

@secure()
@description('TIDEMARK_ALERT_SECRET: alerts must carry it (16+ characters), or empty for none. Pass the same value on every deployment.')
param alertSecret string = ''

@description('False for the first deployment. True once the code is published: creates the Event Grid subscriptions and the alert action group.')
param appPublished bool = false

@description('The action group adds dryRun=true to the alert hook: alerts only answer what they would fail over. Set false to let them act.')
param alertDryRun bool = true

@description('Whether to create the sample Service Health alert rule for the source region.')
param serviceHealthAlert bool = true

@description('Largest number of instances the function app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory of each function app instance (MB).')
@allowed([
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Tags on every resource group and resource.')
param tags object = {
  application: 'tidemark'
}

// ── names ──────────────────────────────────────────────────────────────────────────────────────

var token = toLower(uniqueString(subscription().id, namePrefix, sourceLocation, targetLocation))
var compactPrefix = replace(toLower(namePrefix), '-', '')
var names = {
  identity: 'id-${namePrefix}-${token}'
  workspace: 'log-${namePrefix}-${token}'
  appInsights: 'appi-${namePrefix}-${token}'
  plan: 'plan-${namePrefix}-${token}'
  functionApp: 'func-${namePrefix}-${token}'
  cacheStorage: take('${compactPrefix}cache${token}', 24)
  targetStorage: take('${compactPrefix}data${token}', 24)
  deploymentStorage: take('${compactPrefix}app${token}', 24)
  deploymentContainer: 'app-package'
  actionGroup: 'ag-${namePrefix}-failover'
  serviceHealthAlert: 'alert-${namePrefix}-service-health-${sourceLocation}'
}

// ── built-in roles (least privilege) ───────────────────────────────────────────────────────────

var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  virtualMachineContributor: '9980e02c-c2be-4d73-94e8-173b1dc7cf3c'
  networkContributor: '4d97b98b-1d4f-4787-a291-c67834d212e7'
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
  storageAccountContributor: '17d1049b-9a84-46fb-8f53-869881c3d3ab'
  diskSnapshotContributor: '7efff54f-a5b4-42b5-a1c5-5411624893ce'
}
var armFabric = fabric == 'arm'
// Blobs (deltas, replicas, journal, leases), queues (host and blob-trigger queues, Durable), tables.
var storageDataRoles = [
  roles.storageBlobDataOwner
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]
// VMs, their managed disks, NICs and availability sets; VNets, subnets and network mappings: what the
// ARM fabric creates and changes; snapshots and read access to them, for reading a running VM's disks
// (docs/arm-fabric.md "Roles the identity needs").
var fabricRoleIds = [
  roles.virtualMachineContributor
  roles.networkContributor
  roles.diskSnapshotContributor
]

// ── resource groups ────────────────────────────────────────────────────────────────────────────

resource sourceGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: sourceResourceGroupName
  location: sourceLocation
  tags: tags
}

resource targetGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: targetResourceGroupName
  location: targetLocation
  tags: tags
}

resource recoveryGroups 'Microsoft.Resources/resourceGroups@2024-03-01' = [
  for group in protectedResourceGroupNames: {
    name: '${group}${recoveryResourceGroupSuffix}'
    location: targetLocation
    tags: tags
  }
]

// ── identity and monitoring ────────────────────────────────────────────────────────────────────

module identity 'modules/identity.bicep' = {
  name: 'tidemark-identity'
  scope: targetGroup
  params: {
    name: names.identity
    location: targetLocation
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'tidemark-monitoring'
  scope: targetGroup
  params: {
    workspaceName: names.workspace
    appInsightsName: names.appInsights
    location: targetLocation
    tags: tags
    publisherPrincipalId: identity.outputs.principalId
  }
}

// ── storage ────────────────────────────────────────────────────────────────────────────────────

// The cache: deltas from the agents (a write-only SAS, so Shared Key stays on), agent config and
// status; the ARM fabric's tables of the source region. Soft delete off, as Site Recovery requires.
module cacheStorage 'modules/storageAccount.bicep' = {
  name: 'tidemark-cache-storage'
  scope: sourceGroup
  params: {
    name: names.cacheStorage
    location: sourceLocation
    tags: tags
    allowSharedKeyAccess: true
    blobSoftDelete: false
    principalId: identity.outputs.principalId
    roleDefinitionIds: storageDataRoles
  }
}

// Replicas, journal, recovery points, tables, the Durable task hub and the Functions host's state;
// also the cache of failed-over VMs replicating back (reprotect), hence Shared Key on here too. The ARM
// fabric imports replica blobs into managed disks, which needs listKeys (Storage Account Contributor).
module targetStorage 'modules/storageAccount.bicep' = {
  name: 'tidemark-target-storage'
  scope: targetGroup
  params: {
    name: names.targetStorage
    location: targetLocation
    tags: tags
    allowSharedKeyAccess: true
    blobSoftDelete: false
    principalId: identity.outputs.principalId
    roleDefinitionIds: armFabric ? concat(storageDataRoles, [roles.storageAccountContributor]) : storageDataRoles
  }
}

// The function app's deployment package: identity only.
module deploymentStorage 'modules/storageAccount.bicep' = {
  name: 'tidemark-deployment-storage'
  scope: targetGroup
  params: {
    name: names.deploymentStorage
    location: targetLocation
    tags: tags
    allowSharedKeyAccess: false
    containers: [
      names.deploymentContainer
    ]
    principalId: identity.outputs.principalId
    roleDefinitionIds: [
      roles.storageBlobDataContributor
    ]
  }
}

// ── the function app ───────────────────────────────────────────────────────────────────────────

module functionApp 'modules/functionApp.bicep' = {
  name: 'tidemark-function-app'
  scope: targetGroup
  params: {
    name: names.functionApp
    planName: names.plan
    location: targetLocation
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    deploymentStorageName: deploymentStorage.outputs.name
    deploymentContainerName: names.deploymentContainer
    targetStorageName: targetStorage.outputs.name
    cacheStorageName: cacheStorage.outputs.name
    cacheResourceGroupName: sourceGroup.name
    appInsightsName: monitoring.outputs.appInsightsName
    sourceRegion: sourceLocation
    targetRegion: targetLocation
    taskHubName: taskHubName
    recoveryPointSchedule: recoveryPointSchedule
    fabric: fabric
    alertSecret: alertSecret
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
}

// ── the ARM fabric's roles (docs/arm-fabric.md) ────────────────────────────────────────────────

// Every get and list: the fabric lists subscription-wide and filters by region.
resource subscriptionReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (armFabric) {
  name: guid(subscription().id, names.identity, roles.reader)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.reader)
    principalId: identity.outputs.principalId
    principalType: 'ServicePrincipal'
  }
}

// VMs, disks, NICs and VNets in the protected groups and their recovery groups (created above, so the
// identity needs no right to create resource groups).
module protectedGroupRoles 'modules/fabricRoles.bicep' = [
  for (group, i) in protectedResourceGroupNames: if (armFabric) {
    name: 'tidemark-fabric-roles-${i}'
    scope: resourceGroup(group)
    params: {
      principalId: identity.outputs.principalId
      roleDefinitionIds: fabricRoleIds
    }
  }
]

module recoveryGroupRoles 'modules/fabricRoles.bicep' = [
  for (group, i) in protectedResourceGroupNames: if (armFabric) {
    name: 'tidemark-recovery-roles-${i}'
    scope: resourceGroup('${group}${recoveryResourceGroupSuffix}')
    dependsOn: [
      recoveryGroups
    ]
    params: {
      principalId: identity.outputs.principalId
      roleDefinitionIds: fabricRoleIds
    }
  }
]

// ── once the code is published: Event Grid → blob triggers, and the alert hook ──────────────────

// New deltas in the cache (source region) → applyDelta.
module cacheEvents 'modules/blobEvents.bicep' = if (appPublished) {
  name: 'tidemark-cache-events'
  scope: sourceGroup
  params: {
    storageAccountName: cacheStorage.outputs.name
    location: sourceLocation
    tags: tags
    systemTopicName: 'evgt-${names.cacheStorage}'
    subscriptionName: 'apply-delta'
    functionAppId: functionApp.outputs.id
    functionAppHostName: functionApp.outputs.defaultHostName
    functionName: 'applyDelta'
    containerName: 'cache'
    blobSuffix: '.delta'
  }
}

// New deltas of failed-over VMs replicating back (reprotect) → applyDeltaReverse.
module targetEvents 'modules/blobEvents.bicep' = if (appPublished) {
  name: 'tidemark-target-events'
  scope: targetGroup
  params: {
    storageAccountName: targetStorage.outputs.name
    location: targetLocation
    tags: tags
    systemTopicName: 'evgt-${names.targetStorage}'
    subscriptionName: 'apply-delta-reverse'
    functionAppId: functionApp.outputs.id
    functionAppHostName: functionApp.outputs.defaultHostName
    functionName: 'applyDeltaReverse'
    containerName: 'cache'
    blobSuffix: '.delta'
  }
}

module alerts 'modules/alerts.bicep' = if (appPublished) {
  name: 'tidemark-alerts'
  scope: targetGroup
  params: {
    actionGroupName: names.actionGroup
    actionGroupShortName: 'tm-failover'
    serviceHealthAlertName: names.serviceHealthAlert
    tags: tags
    functionAppId: functionApp.outputs.id
    functionAppHostName: functionApp.outputs.defaultHostName
    alertSecret: alertSecret
    dryRun: alertDryRun
    serviceHealthAlert: serviceHealthAlert
    sourceRegionDisplayName: sourceRegionDisplayName
  }
}

// ── outputs (no secrets) ───────────────────────────────────────────────────────────────────────

output functionAppName string = functionApp.outputs.name
output functionAppUrl string = 'https://${functionApp.outputs.defaultHostName}'
output portalUrl string = 'https://${functionApp.outputs.defaultHostName}/api/portal/'
output sourceResourceGroup string = sourceGroup.name
output targetResourceGroup string = targetGroup.name
output cacheStorageAccountName string = cacheStorage.outputs.name
output targetStorageAccountName string = targetStorage.outputs.name
output deploymentStorageAccountName string = deploymentStorage.outputs.name
output managedIdentityClientId string = identity.outputs.clientId
output applicationInsightsName string = monitoring.outputs.appInsightsName
