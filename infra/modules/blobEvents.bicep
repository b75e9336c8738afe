// Blob-created events of one storage account, delivered to a blob-triggered function whose trigger
// has source 'EventGrid' (functions/applyDelta.ts): an Event Grid system topic on the account and a
// subscription to the Functions host's blob-extension webhook. Event Grid validates the webhook when
// the subscription is created, so deploy this only once the app's code is published.

@description('Name of the storage account (this resource group) whose blob events are delivered.')
param storageAccountName string

@description('Region of the storage account.')
param location string

@description('Tags on the topic.')
param tags object = {}

@description('Name of the system topic (one per storage account).')
param systemTopicName string

@description('Name of the event subscription.')
param subscriptionName string

@description('Resource id of the function app.')
param functionAppId string

@description('Host name of the function app.')
param functionAppHostName string

@description('The blob-triggered function to deliver to.')
param functionName string

@description('Container whose blobs trigger it.')
param containerName string

@description('Suffix of the blob names that trigger it.')
param blobSuffix string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: systemTopicName
  location: location
  tags: tags
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

// The blobs_extension system key exists once the host has loaded an Event Grid blob trigger.
var blobsExtensionKey = listKeys('${functionAppId}/host/default', '2024-04-01').systemKeys.blobs_extension

resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: topic
  name: subscriptionName
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${functionAppHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${functionName}&code=${blobsExtensionKey}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${containerName}/blobs/'
      subjectEndsWith: blobSuffix
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

output systemTopicName string = topic.name
