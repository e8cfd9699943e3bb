variable "project_id" {
  description = "Project that runs the functions, topics and scheduler jobs."
  type        = string
}

variable "region" {
  description = "Region of the functions, the Eventarc triggers and Cloud Scheduler."
  type        = string
  default     = "europe-west1"
}

variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "secret-propagator"
}

variable "registry_yaml" {
  description = "The registry (secret-propagator/v1 YAML). Read here to derive IAM and schedules, and passed to the functions as REGISTRY."
  type        = string
}

variable "function_source_zip" {
  description = "Path of the function source archive (package.json + built functions/gcp), see README."
  type        = string
}

variable "manage_secret_topics" {
  description = "Create the bound secrets (in project_id) with the notification topic set. Leave false for existing secrets and run the `notification_commands` output instead."
  type        = bool
  default     = false
}

variable "gke_projects" {
  description = "Projects whose GKE clusters the functions write to; the service account gets roles/container.clusterViewer there. @default [project_id]"
  type        = list(string)
  default     = []
}

variable "reconcile_schedule" {
  description = "Unix cron (Cloud Scheduler) of the fleet-wide reconcile; empty to disable."
  type        = string
  default     = "17 * * * *"
}

variable "time_zone" {
  description = "Time zone of the Cloud Scheduler jobs."
  type        = string
  default     = "Etc/UTC"
}

variable "max_instances" {
  description = "Maximum instances per function."
  type        = number
  default     = 10
}

variable "memory_mb" {
  description = "Memory of each function instance, in MB (a Cloud Functions size: 256, 512, 1024, 2048, ...). The functions' V8 semi-spaces follow it: 32 MB from 1024, 16 MB below."
  type        = number
  default     = 512
  validation {
    condition     = var.memory_mb >= 128 && floor(var.memory_mb) == var.memory_mb
    error_message = "memory_mb must be a whole number of MB, at least 128."
  }
}

variable "timeout_seconds" {
  description = "Per-invocation timeout (event-driven 2nd-gen functions allow up to 540 s)."
  type        = number
  default     = 300
}

variable "log_level" {
  description = "LOG_LEVEL of the functions (debug, info, warn, error)."
  type        = string
  default     = "info"
}

variable "labels" {
  description = "Labels on every resource that takes them."
  type        = map(string)
  default     = {}
}
