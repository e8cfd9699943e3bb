variable "name" {
  description = "Prefix for every resource name (lowercase letters and digits, 3-16 characters)."
  type        = string
  default     = "secretprop"
  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,15}$", var.name))
    error_message = "name must be 3-16 lowercase letters or digits, starting with a letter (it is part of the storage account name)."
  }
}

variable "location" {
  description = "Azure region of the Function App, storage and Application Insights."
  type        = string
}

variable "resource_group_name" {
  description = "Resource group to create for the propagator."
  type        = string
}

variable "registry_yaml" {
  description = "The registry (secret-propagator/v1 YAML). Passed to the function as the REGISTRY app setting; the vaults, secret names and rotation permissions below are derived from it."
  type        = string
}

variable "key_vaults" {
  description = "Every Key Vault an azure source of the registry points at, by vault name: its resource id and region (the Event Grid system topic lives in the vault's region)."
  type = map(object({
    id       = string
    location = string
  }))
}

variable "event_delivery_schema" {
  description = "Schema of the events Event Grid delivers: EventGridSchema or CloudEventSchemaV1_0 (the function accepts both)."
  type        = string
  default     = "EventGridSchema"
  validation {
    condition     = contains(["EventGridSchema", "CloudEventSchemaV1_0"], var.event_delivery_schema)
    error_message = "event_delivery_schema must be EventGridSchema or CloudEventSchemaV1_0."
  }
}

variable "create_event_subscriptions" {
  description = "Create the Event Grid subscriptions. Event Grid checks that the secretChanged function exists, so the very first apply uses false, then `func azure functionapp publish`, then apply again with true."
  type        = bool
  default     = true
}

variable "reconcile_schedule" {
  description = "NCRONTAB schedule of the reconcile timer (six fields, UTC)."
  type        = string
  default     = "0 0 * * * *"
}

variable "rotate_schedule" {
  description = "NCRONTAB schedule of the rotation timer for bindings with schedule.rotate (six fields, UTC)."
  type        = string
  default     = "0 0 2 * * 0"
}

variable "work_queue_name" {
  description = "Storage queue for fan-out work items (the host moves failing messages to <name>-poison)."
  type        = string
  default     = "secret-propagator-work"
}

variable "instance_memory_mb" {
  description = "Flex Consumption instance memory, in MB (512, 2048 or 4096). The worker's V8 semi-spaces follow it: 32 MB from 1024, 16 MB below."
  type        = number
  default     = 2048
  validation {
    condition     = contains([512, 2048, 4096], var.instance_memory_mb)
    error_message = "instance_memory_mb must be one of the Flex Consumption sizes: 512, 2048 or 4096."
  }
}

variable "maximum_instance_count" {
  description = "Flex Consumption scale-out limit."
  type        = number
  default     = 40
}

variable "log_retention_days" {
  description = "Log Analytics retention for Application Insights data."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
