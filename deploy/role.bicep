// The custom role of deploy/portcullis-role.json (exactly what Portcullis's ARM client calls;
// a test keeps the two in step), defined in a subscription and granted to the server's
// managed identity there. Deploy once per subscription Portcullis reads:
//
//   az deployment sub create -l westeurope -f deploy/role.bicep -p principalId=<main.bicep's output>
//
// For a management group, deploy the same at management-group scope (targetScope =
// 'managementGroup', assignableScopes the group's id).
targetScope = 'subscription'

@description('The principal (object) id of the server\'s managed identity.')
param principalId string

var role = loadJsonContent('portcullis-role.json')

resource definition 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, 'portcullis-management-port-guard')
  properties: {
    roleName: role.properties.roleName
    description: role.properties.description
    type: 'CustomRole'
    permissions: role.properties.permissions
    assignableScopes: [subscription().id]
  }
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, definition.id)
  properties: {
    roleDefinitionId: definition.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
