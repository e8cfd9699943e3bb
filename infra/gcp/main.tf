data "google_project" "this" {
  project_id = var.project_id
}

locals {
  registry = yamldecode(var.registry_yaml)

  # gcp sources -> the project bare secret ids resolve against.
  gcp_sources = {
    for s in try(local.registry.sources, []) : s.name => s.project
    if s.provider == "gcp"
  }

  # Every secret a binding reads (remoteRef, data[].remoteRef, dataFrom[].extract), as
  # { project, secret, rotates }; rotates when the binding writes generated versions.
  bound_secret_list = flatten([
    for b in try(local.registry.bindings, []) : [
      for key in distinct(compact(concat(
        [try(b.remoteRef.key, "")],
        [for d in try(b.data, []) : try(d.remoteRef.key, "")],
        [for d in try(b.dataFrom, []) : try(d.extract.key, "")],
        ))) : {
        project = can(regex("^projects/", key)) ? regex("^projects/([^/]+)/secrets/([^/]+)", key)[0] : local.gcp_sources[b.source]
        secret  = can(regex("^projects/", key)) ? regex("^projects/([^/]+)/secrets/([^/]+)", key)[1] : key
        rotates = try(b.rotation.generator, null) != null
      }
    ] if contains(keys(local.gcp_sources), b.source)
  ])
  bound_secrets = {
    for key, group in {
      for s in local.bound_secret_list : "${s.project}/${s.secret}" => s...
    } : key => { project = group[0].project, secret = group[0].secret, rotates = anytrue([for s in group : s.rotates]) }
  }
  rotating_secrets = { for k, s in local.bound_secrets : k => s if s.rotates }

  # Registry schedules -> Cloud Scheduler (unix cron). `rate(N minutes|hours|days)` and
  # EventBridge-style `cron(m h dom mon dow [year])` are translated; 5-field cron is kept.
  schedules = merge([
    for b in try(local.registry.bindings, []) : {
      for kind, expr in try(b.schedule, {}) : "${b.name}-${kind}" => {
        binding = b.name
        kind    = kind
        cron = (
          can(regex("^rate\\(", expr)) ? (
            length(regexall("minute", expr)) > 0 ? "*/${regex("\\d+", expr)} * * * *" :
            length(regexall("hour", expr)) > 0 ? "0 */${regex("\\d+", expr)} * * *" :
            "0 0 */${regex("\\d+", expr)} * *"
          ) :
          can(regex("^cron\\(", expr)) ? replace(join(" ", slice(split(" ", regex("^cron\\((.*)\\)$", expr)[0]), 0, 5)), "?", "*") :
          expr
        )
      } if expr != null
    }
  ]...)

  gke_projects         = length(var.gke_projects) > 0 ? toset(var.gke_projects) : toset([var.project_id])
  secret_manager_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-secretmanager.iam.gserviceaccount.com"
  sa_member            = "serviceAccount:${google_service_account.functions.email}"
}

resource "google_project_service" "apis" {
  for_each = toset([
    "cloudfunctions.googleapis.com",
    "run.googleapis.com",
    "cloudbuild.googleapis.com",
    "eventarc.googleapis.com",
    "pubsub.googleapis.com",
    "secretmanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "container.googleapis.com",
    "artifactregistry.googleapis.com",
  ])
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# ---------------------------------------------------------------------------
# Identity: one service account, least privilege
# ---------------------------------------------------------------------------

resource "google_service_account" "functions" {
  account_id   = substr(var.name, 0, 30)
  display_name = "secret-propagator functions"
  description  = "Reads bound secrets, writes Kubernetes Secrets on GKE, publishes fan-out work."
}

# Values: only the secrets the registry references.
resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each  = local.bound_secrets
  project   = each.value.project
  secret_id = each.value.secret
  role      = "roles/secretmanager.secretAccessor"
  member    = local.sa_member
}

# Version metadata (get/list) to find the newest ENABLED version when `latest` is disabled
# or destroyed: a custom role, since roles/secretmanager.viewer grants more than needed.
resource "google_project_iam_custom_role" "version_reader" {
  role_id     = replace("${var.name}-version-reader", "-", "_")
  title       = "secret-propagator version metadata reader"
  description = "Get and list secret versions (metadata only, never payloads)."
  permissions = ["secretmanager.versions.get", "secretmanager.versions.list"]
}

resource "google_secret_manager_secret_iam_member" "version_reader" {
  for_each  = local.bound_secrets
  project   = each.value.project
  secret_id = each.value.secret
  role      = google_project_iam_custom_role.version_reader.id
  member    = local.sa_member
}

# Writing generated versions only where a binding rotates with a generator.
resource "google_secret_manager_secret_iam_member" "version_adder" {
  for_each  = local.rotating_secrets
  project   = each.value.project
  secret_id = each.value.secret
  role      = "roles/secretmanager.secretVersionAdder"
  member    = local.sa_member
}

# GKE: reach the control plane (container.clusters.get). What the identity may do inside
# the cluster is a Kubernetes Role from `secret-propagator rbac`, bound to this account.
resource "google_project_iam_member" "gke_cluster_viewer" {
  for_each = local.gke_projects
  project  = each.value
  role     = "roles/container.clusterViewer"
  member   = local.sa_member
}

resource "google_pubsub_topic_iam_member" "work_publisher" {
  topic  = google_pubsub_topic.work.id
  role   = "roles/pubsub.publisher"
  member = local.sa_member
}

resource "google_project_iam_member" "event_receiver" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = local.sa_member
}

# ---------------------------------------------------------------------------
# Topics: Secret Manager notifications, schedules, fan-out work
# ---------------------------------------------------------------------------

resource "google_pubsub_topic" "secret_events" {
  name   = "${var.name}-secret-events"
  labels = var.labels
}

# Secret Manager's service agent publishes the notifications.
resource "google_pubsub_topic_iam_member" "secret_manager_publisher" {
  topic  = google_pubsub_topic.secret_events.id
  role   = "roles/pubsub.publisher"
  member = local.secret_manager_agent
}

resource "google_pubsub_topic" "schedules" {
  name   = "${var.name}-schedules"
  labels = var.labels
}

resource "google_pubsub_topic" "work" {
  name   = "${var.name}-work"
  labels = var.labels
}

# Optional: bound secrets created here with the notification topic set. For existing
# secrets, run the `notification_commands` output (gcloud secrets update --add-topics).
resource "google_secret_manager_secret" "bound" {
  for_each  = var.manage_secret_topics ? { for k, s in local.bound_secrets : k => s if s.project == var.project_id } : {}
  project   = each.value.project
  secret_id = each.value.secret
  labels    = var.labels

  replication {
    auto {}
  }

  topics {
    name = google_pubsub_topic.secret_events.id
  }

  depends_on = [google_pubsub_topic_iam_member.secret_manager_publisher]
}

# ---------------------------------------------------------------------------
# Functions (2nd gen, Node.js 22)
# ---------------------------------------------------------------------------

resource "google_storage_bucket" "source" {
  name                        = "${var.project_id}-${var.name}-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = var.labels
}

resource "google_storage_bucket_object" "source" {
  name   = "function-source-${filemd5(var.function_source_zip)}.zip"
  bucket = google_storage_bucket.source.name
  source = var.function_source_zip
}

locals {
  functions = {
    secret-changed = { entry_point = "secretChanged", topic = google_pubsub_topic.secret_events.id }
    scheduled      = { entry_point = "scheduled", topic = google_pubsub_topic.schedules.id }
    apply-work     = { entry_point = "applyWork", topic = google_pubsub_topic.work.id }
  }
}

resource "google_cloudfunctions2_function" "this" {
  for_each = local.functions
  name     = "${var.name}-${each.key}"
  location = var.region
  labels   = var.labels

  build_config {
    runtime     = "nodejs22"
    entry_point = each.value.entry_point
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory               = "${var.memory_mb}Mi"
    timeout_seconds                = var.timeout_seconds
    max_instance_count             = var.max_instances
    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.functions.email
    # NODE_OPTIONS as functionNodeOptions(memory) in shared/runtime/node-options.ts: larger
    # V8 semi-spaces, sized from the instance's memory, far less GC in fleet runs.
    environment_variables = {
      REGISTRY             = var.registry_yaml
      WORK_TOPIC           = google_pubsub_topic.work.id
      GOOGLE_CLOUD_PROJECT = var.project_id
      LOG_LEVEL            = var.log_level
      NODE_OPTIONS         = "--enable-source-maps --max-semi-space-size=${var.memory_mb >= 1024 ? 32 : 16}"
    }
  }

  # Eventarc Pub/Sub trigger; RETRY makes Pub/Sub redeliver when the handler throws
  # (it throws only for retryable failures).
  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = each.value.topic
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.functions.email
  }

  depends_on = [google_project_service.apis]
}

# The trigger identity invokes the function's Cloud Run service.
resource "google_cloud_run_service_iam_member" "invoker" {
  for_each = google_cloudfunctions2_function.this
  location = var.region
  service  = each.value.service_config[0].service
  role     = "roles/run.invoker"
  member   = local.sa_member
}

# ---------------------------------------------------------------------------
# Cloud Scheduler -> schedules topic -> `scheduled`
# ---------------------------------------------------------------------------

resource "google_cloud_scheduler_job" "reconcile_all" {
  count     = var.reconcile_schedule == "" ? 0 : 1
  name      = "${var.name}-reconcile-all"
  region    = var.region
  schedule  = var.reconcile_schedule
  time_zone = var.time_zone

  pubsub_target {
    topic_name = google_pubsub_topic.schedules.id
    data       = base64encode(jsonencode({ kind = "reconcile" }))
  }
}

resource "google_cloud_scheduler_job" "binding" {
  for_each  = local.schedules
  name      = "${var.name}-${each.key}"
  region    = var.region
  schedule  = each.value.cron
  time_zone = var.time_zone

  pubsub_target {
    topic_name = google_pubsub_topic.schedules.id
    data       = base64encode(jsonencode({ kind = each.value.kind, bindings = [each.value.binding] }))
  }
}
