// The alert hook's action group (docs/alerts.md): a webhook to POST /api/alerts with the common
// alert schema, the function key in `code` and, when set, the alert secret. Plus one sample rule: a
// Service Health alert for incidents in the source region, whose every protected VM the hook fails
// over. The URL needs the app's function key, so deploy this once the code is published.

@description('Name of the action group.')
param actionGroupName string

@description('Short name shown in notifications (at most 12 characters).')
@maxLength(12)
param actionGroupShortName string

@description('Name of the Service Health alert rule.')
param serviceHealthAlertName string

@description('Tags on both.')
param tags object = {}

@description('Resource id of the function app.')
param functionAppId string

@description('Host name of the function app.')
param functionAppHostName string

@secure()
@description('TIDEMARK_ALERT_SECRET, added to the webhook URL when not empty.')
param alertSecret string

@description('Add dryRun=true to the webhook: alerts answer what they would fail over, and start nothing.')
param dryRun bool

@description('Whether to create the Service Health alert rule.')
param serviceHealthAlert bool

@description('The source region as Service Health names it (e.g. East US).')
param sourceRegionDisplayName string

var functionKey = listKeys('${functionAppId}/host/default', '2024-04-01').functionKeys.default
var secretQuery = empty(alertSecret) ? '' : '&secret=${uriComponent(alertSecret)}'
var dryRunQuery = dryRun ? '&dryRun=true' : ''

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: actionGroupShortName
    enabled: true
    webhookReceivers: [
      {
        name: 'tidemark-alert-hook'
        serviceUri: 'https://${functionAppHostName}/api/alerts?code=${uriComponent(functionKey)}${secretQuery}${dryRunQuery}'
        useCommonAlertSchema: true
        useAadAuth: false
      }
    ]
  }
}

resource serviceHealth 'Microsoft.Insights/activityLogAlerts@2020-10-01' = if (serviceHealthAlert) {
  name: serviceHealthAlertName
  location: 'Global'
  tags: tags
  properties: {
    enabled: true
    description: 'Service Health incident in ${sourceRegionDisplayName}: tidemark fails over the protected VMs there.'
    scopes: [
      subscription().id
    ]
    condition: {
      allOf: [
        {
          field: 'category'
          equals: 'ServiceHealth'
        }
        {
          field: 'properties.incidentType'
          equals: 'Incident'
        }
        {
          field: 'properties.impactedServices[*].ImpactedRegions[*].RegionName'
          containsAny: [
            sourceRegionDisplayName
          ]
        }
      ]
    }
    actions: {
      actionGroups: [
        {
          actionGroupId: actionGroup.id
        }
      ]
    }
  }
}

output actionGroupId string = actionGroup.id
