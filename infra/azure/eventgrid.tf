# One Event Grid system topic per referenced vault, and one subscription delivering the
# three secret event types (only for the bound secret names, where the filter allows) to
# the secretChanged function.

locals {
  key_vault_secret_event_types = [
    "Microsoft.KeyVault.SecretNewVersionCreated",
    "Microsoft.KeyVault.SecretNearExpiry",
    "Microsoft.KeyVault.SecretExpired",
  ]
}

resource "azurerm_eventgrid_system_topic" "vault" {
  for_each            = local.vault_names
  name                = "${var.name}-${each.key}-events"
  resource_group_name = azurerm_resource_group.this.name
  location            = var.key_vaults[each.key].location
  source_resource_id  = var.key_vaults[each.key].id
  topic_type          = "Microsoft.KeyVault.vaults"
  tags                = var.tags
}

resource "azurerm_eventgrid_system_topic_event_subscription" "secret_changed" {
  for_each            = var.create_event_subscriptions ? local.vault_names : toset([])
  name                = "${var.name}-secret-changed"
  system_topic        = azurerm_eventgrid_system_topic.vault[each.key].name
  resource_group_name = azurerm_resource_group.this.name

  event_delivery_schema = var.event_delivery_schema
  included_event_types  = local.key_vault_secret_event_types

  azure_function_endpoint {
    function_id                       = "${azurerm_function_app_flex_consumption.this.id}/functions/secretChanged"
    max_events_per_batch              = 1
    preferred_batch_size_in_kilobytes = 64
  }

  # Key Vault events carry the secret name as subject.
  dynamic "advanced_filter" {
    for_each = length(local.secret_names_by_vault[each.key]) <= local.max_subject_filter_values ? [local.secret_names_by_vault[each.key]] : []
    content {
      string_in {
        key    = "subject"
        values = advanced_filter.value
      }
    }
  }

  retry_policy {
    max_delivery_attempts = 30
    event_time_to_live    = 1440
  }

  storage_blob_dead_letter_destination {
    storage_account_id          = azurerm_storage_account.this.id
    storage_blob_container_name = azurerm_storage_container.dead_letters.name
  }
}
