// Portcullis on Azure Container Apps, in one resource group: a user-assigned managed identity (the
// server's ARM credential), Azure Database for PostgreSQL Flexible Server (TLS required, checked
// with sslmode=verify-full), a Log Analytics workspace and the container app itself.
// The identity's custom role is granted by role.bicep, at subscription scope (docs/deploy.md).
//
//   az deployment group create -g rg-portcullis -f deploy/main.bicep \
//     -p image=<registry>/portcullis:<tag> postgresPassword=<...> configToml=@portcullis.toml

@description('Where everything goes.')
param location string = resourceGroup().location

@description('Prefix of every resource name.')
@minLength(3)
@maxLength(16)
param name string = 'portcullis'

@description('The image built from the repository\'s Dockerfile, in a registry the app can pull from.')
param image string

@description('Registry server of the image (for example myregistry.azurecr.io); empty for a public image.')
param registryServer string = ''

@description('Administrator login of the PostgreSQL server.')
param postgresLogin string = 'portcullis'

@description('Its password (stored as a Container Apps secret, never in an environment variable in clear).')
@secure()
param postgresPassword string

@description('The server\'s config file (TOML): [[users]] with argon2id hashes from `portcullis hash-password`, trusted ranges, ...')
@secure()
param configToml string

@description('Azure cloud of the subscriptions Portcullis reads: public, usgov or china.')
@allowed(['public', 'usgov', 'china'])
param cloud string = 'public'

@description('What the snapshots read: subscription ids (comma separated) or managementGroups/NAME; empty: all the identity can read.')
param scope string = ''

@description('Sign-in with Entra ID: the app registration\'s client id (docs/deploy.md, section 4); empty: local accounts only.')
param entraClientId string = ''

@description('Its client secret (a Container Apps secret, read by the server from a file).')
@secure()
param entraClientSecret string = ''

@description('The directory people sign in from (never common).')
param entraTenantId string = tenant().tenantId

@description('Local accounts ([[users]] of the config file) beside Entra ID: keep one break-glass admin, or switch them off.')
param localAccounts bool = true

var suffix = uniqueString(resourceGroup().id, name)
var signIn = !empty(entraClientId)

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-id'
  location: location
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${name}-logs-${suffix}'
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource postgres 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: '${name}-pg-${suffix}'
  location: location
  sku: { name: 'Standard_B1ms', tier: 'Burstable' }
  properties: {
    version: '16'
    administratorLogin: postgresLogin
    administratorLoginPassword: postgresPassword
    storage: { storageSizeGB: 32 }
    backup: { backupRetentionDays: 7, geoRedundantBackup: 'Disabled' }
    highAvailability: { mode: 'Disabled' }
    network: { publicNetworkAccess: 'Enabled' }
  }
}

// TLS only (the server's default, stated here so that nobody turns it off by accident)
resource requireTls 'Microsoft.DBforPostgreSQL/flexibleServers/configurations@2024-08-01' = {
  parent: postgres
  name: 'require_secure_transport'
  properties: { value: 'on', source: 'user-override' }
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: postgres
  name: 'portcullis'
  properties: { charset: 'UTF8', collation: 'en_US.utf8' }
}

// Container Apps reach the server from Azure's address space: the "allow Azure services" rule
resource azureServices 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = {
  parent: postgres
  name: 'AllowAzureServices'
  properties: { startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' }
}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${name}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
  }
}

var databaseUrl = 'postgres://${postgresLogin}@${postgres.properties.fullyQualifiedDomainName}:5432/portcullis?sslmode=verify-full'

resource app 'Microsoft.App/containerApps@2024-03-01' = {
  name: name
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    managedEnvironmentId: environment.id
    configuration: {
      ingress: {
        external: true
        targetPort: 8080
        transport: 'http'
        allowInsecure: false
      }
      registries: empty(registryServer) ? [] : [
        { server: registryServer, identity: identity.id }
      ]
      secrets: concat([
        { name: 'postgres-password', value: postgresPassword }
        { name: 'config-toml', value: configToml }
      ], signIn ? [
        { name: 'entra-client-secret', value: entraClientSecret }
      ] : [])
    }
    template: {
      containers: [
        {
          name: 'portcullis'
          image: image
          resources: { cpu: json('1.0'), memory: '2Gi' }
          env: concat([
            { name: 'PORTCULLIS_CREDENTIAL', value: 'managed-identity=${identity.properties.clientId}' }
            { name: 'PORTCULLIS_CLOUD', value: cloud }
            { name: 'PORTCULLIS_SCOPE', value: scope }
            { name: 'PORTCULLIS_DATABASE_URL', value: databaseUrl }
            // the password as a file (a secret volume), not in the URL
            { name: 'PORTCULLIS_DATABASE_PASSWORD_FILE', value: '/etc/portcullis/postgres-password' }
            { name: 'PORTCULLIS_CONFIG', value: '/etc/portcullis/config-toml' }
            { name: 'PORTCULLIS_SECURE_COOKIES', value: 'true' }
            { name: 'RUST_LOG', value: 'portcullis=info' }
            { name: 'PORTCULLIS_LOCAL_ACCOUNTS', value: localAccounts ? 'true' : 'false' } // string(bool) would give 'True'
          ], signIn ? [
            // the redirect URL is https://<this app>/auth/callback, from the request's host
            { name: 'PORTCULLIS_ENTRA_TENANT_ID', value: entraTenantId }
            { name: 'PORTCULLIS_ENTRA_CLIENT_ID', value: entraClientId }
            { name: 'PORTCULLIS_ENTRA_CLIENT_SECRET_FILE', value: '/etc/portcullis/entra-client-secret' }
          ] : [])
          volumeMounts: [
            { volumeName: 'secrets', mountPath: '/etc/portcullis' }
          ]
          probes: [
            { type: 'Liveness', httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 30 }
            { type: 'Readiness', httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 10, failureThreshold: 30 }
          ]
        }
      ]
      volumes: [
        { name: 'secrets', storageType: 'Secret' }
      ]
      // several replicas share PostgreSQL: one schedules the snapshots (an advisory lock)
      scale: { minReplicas: 1, maxReplicas: 2 }
    }
  }
  dependsOn: [database, azureServices, requireTls]
}

@description('The dashboard.')
output url string = 'https://${app.properties.configuration.ingress.fqdn}'

@description('The redirect URI to register on the Entra app (Web platform).')
output redirectUri string = 'https://${app.properties.configuration.ingress.fqdn}/auth/callback'

@description('Grant this principal the custom role with role.bicep.')
output principalId string = identity.properties.principalId

@description('The identity\'s client id (PORTCULLIS_CREDENTIAL=managed-identity=...).')
output clientId string = identity.properties.clientId
