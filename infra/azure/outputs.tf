output "function_app_name" {
  description = "Name for `func azure functionapp publish`."
  value       = azurerm_function_app_flex_consumption.this.name
}

output "principal_id" {
  description = "Object id of the function's managed identity (grant it a Kubernetes role on each AKS cluster)."
  value       = azurerm_function_app_flex_consumption.this.identity[0].principal_id
}

output "application_insights_name" {
  value = azurerm_application_insights.this.name
}

output "work_queue" {
  value = azurerm_storage_queue.work.name
}

output "subject_filters" {
  description = "Secret names each vault's subscription is filtered to (empty when above the 25-value limit)."
  value       = local.secret_names_by_vault
}
