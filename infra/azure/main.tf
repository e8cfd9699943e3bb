provider "azurerm" {
  features {}
}

locals {
  registry = yamldecode(var.registry_yaml)

  # azure sources -> vault name (https://<vault>.vault.azure.net).
  azure_sources = {
    for s in try(local.registry.sources, []) : s.name => lower(regex("^https://([^./:]+)", s.vaultUrl)[0])
    if s.provider == "azure"
  }
  vault_names = toset(values(local.azure_sources))

  # Every (vault, secret name) a binding reads, and whether that binding writes versions (rotation).
  bound_secrets = flatten([
    for b in try(local.registry.bindings, []) : [
      for key in distinct(compact(concat(
        [try(b.remoteRef.key, "")],
        [for d in try(b.data, []) : try(d.remoteRef.key, "")],
        [for d in try(b.dataFrom, []) : try(d.extract.key, "")],
        ))) : {
        vault   = local.azure_sources[b.source]
        secret  = lower(try(regex("/secrets/([^/]+)", key)[0], key))
        rotates = try(b.rotation, null) != null || try(b.schedule.rotate, null) != null
      }
    ] if contains(keys(local.azure_sources), b.source)
  ])
  secret_names_by_vault = { for v in local.vault_names : v => sort(distinct([for s in local.bound_secrets : s.secret if s.vault == v])) }
  rotation_vaults       = toset(distinct([for s in local.bound_secrets : s.vault if s.rotates]))

  # Event Grid's StringIn advanced filter takes at most 25 values; above that every secret
  # event of the vault is delivered and unbound ones are acknowledged by the function.
  max_subject_filter_values = 25

  storage_account_name = substr("${var.name}${substr(md5(var.resource_group_name), 0, 8)}", 0, 24)
}

resource "azurerm_resource_group" "this" {
  name     = var.resource_group_name
  location = var.location
  tags     = var.tags
}

# ---------------------------------------------------------------------------
# Storage: host state, deployment package, work queue (+ poison), dead letters
# ---------------------------------------------------------------------------

resource "azurerm_storage_account" "this" {
  name                            = local.storage_account_name
  resource_group_name             = azurerm_resource_group.this.name
  location                        = azurerm_resource_group.this.location
  account_tier                    = "Standard"
  account_replication_type        = "LRS"
  min_tls_version                 = "TLS1_2"
  allow_nested_items_to_be_public = false
  shared_access_key_enabled       = false
  tags                            = var.tags
}

resource "azurerm_storage_container" "deployment" {
  name                  = "deployment-package"
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

resource "azurerm_storage_container" "dead_letters" {
  name                  = "event-dead-letters"
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

resource "azurerm_storage_queue" "work" {
  name               = var.work_queue_name
  storage_account_id = azurerm_storage_account.this.id
}

resource "azurerm_storage_queue" "work_poison" {
  name               = "${var.work_queue_name}-poison"
  storage_account_id = azurerm_storage_account.this.id
}

# ---------------------------------------------------------------------------
# Application Insights (workspace-based)
# ---------------------------------------------------------------------------

resource "azurerm_log_analytics_workspace" "this" {
  name                = "${var.name}-logs"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days
  tags                = var.tags
}

resource "azurerm_application_insights" "this" {
  name                = "${var.name}-insights"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  workspace_id        = azurerm_log_analytics_workspace.this.id
  application_type    = "Node.JS"
  tags                = var.tags
}

# ---------------------------------------------------------------------------
# Function App: Linux, Flex Consumption, Node 22, system-assigned identity
# ---------------------------------------------------------------------------

resource "azurerm_service_plan" "this" {
  name                = "${var.name}-plan"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  os_type             = "Linux"
  sku_name            = "FC1"
  tags                = var.tags
}

resource "azurerm_function_app_flex_consumption" "this" {
  name                = "${var.name}-func"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  service_plan_id     = azurerm_service_plan.this.id

  runtime_name           = "node"
  runtime_version        = "22"
  maximum_instance_count = var.maximum_instance_count
  instance_memory_in_mb  = var.instance_memory_mb

  storage_container_type      = "blobContainer"
  storage_container_endpoint  = "${azurerm_storage_account.this.primary_blob_endpoint}${azurerm_storage_container.deployment.name}"
  storage_authentication_type = "SystemAssignedIdentity"

  https_only                    = true
  public_network_access_enabled = true

  identity {
    type = "SystemAssigned"
  }

  site_config {
    application_insights_connection_string = azurerm_application_insights.this.connection_string
  }

  app_settings = {
    # Host storage through the managed identity (no keys): the queue trigger and the
    # function's own WorkQueue client both use these.
    AzureWebJobsStorage__accountName     = azurerm_storage_account.this.name
    AzureWebJobsStorage__queueServiceUri = azurerm_storage_account.this.primary_queue_endpoint
    AzureWebJobsStorage__blobServiceUri  = azurerm_storage_account.this.primary_blob_endpoint
    REGISTRY                             = var.registry_yaml
    RECONCILE_SCHEDULE                   = var.reconcile_schedule
    ROTATE_SCHEDULE                      = var.rotate_schedule
    WORK_QUEUE_NAME                      = azurerm_storage_queue.work.name
    LOG_LEVEL                            = "info"
    # Node flags of the worker, as functionNodeOptions(memory) in shared/runtime/node-options.ts:
    # larger V8 semi-spaces, sized from the instance's memory, far less GC in fleet runs.
    languageWorkers__node__arguments = "--enable-source-maps --max-semi-space-size=${var.instance_memory_mb >= 1024 ? 32 : 16}"
  }

  tags = var.tags
}

# The identity's rights on its own storage: host state and deployment package (blob),
# fan-out work items (queue: send, read, delete, poison).
resource "azurerm_role_assignment" "storage_blob" {
  scope                = azurerm_storage_account.this.id
  role_definition_name = "Storage Blob Data Owner"
  principal_id         = azurerm_function_app_flex_consumption.this.identity[0].principal_id
}

resource "azurerm_role_assignment" "storage_queue" {
  scope                = azurerm_storage_account.this.id
  role_definition_name = "Storage Queue Data Contributor"
  principal_id         = azurerm_function_app_flex_consumption.this.identity[0].principal_id
}

# ---------------------------------------------------------------------------
# Key Vault access: read on every referenced vault, write versions only where rotation does
# ---------------------------------------------------------------------------

resource "azurerm_role_assignment" "key_vault_secrets_user" {
  for_each             = local.vault_names
  scope                = var.key_vaults[each.key].id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_function_app_flex_consumption.this.identity[0].principal_id
}

resource "azurerm_role_assignment" "key_vault_secrets_officer" {
  for_each             = local.rotation_vaults
  scope                = var.key_vaults[each.key].id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = azurerm_function_app_flex_consumption.this.identity[0].principal_id
}

check "every_vault_is_described" {
  assert {
    condition     = length(setsubtract(local.vault_names, keys(var.key_vaults))) == 0
    error_message = "The registry's azure sources use vaults missing from var.key_vaults: ${join(", ", setsubtract(local.vault_names, keys(var.key_vaults)))}."
  }
}
