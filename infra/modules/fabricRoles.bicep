// Roles of the function app's identity on one resource group the ARM fabric works in: a group whose
// VMs tidemark protects (source region), or its recovery group (target region), where failover and
// test failover create VMs, NICs, VNets and managed disks, and reprotect works back.

@description('Principal (object) id of the managed identity.')
param principalId string

@description('Built-in role definition ids (GUIDs) to assign on this resource group.')
param roleDefinitionIds array

resource roleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in roleDefinitionIds: {
    name: guid(resourceGroup().id, principalId, roleId)
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]
