output "service_account_email" {
  description = "Bind this identity to the Role that `secret-propagator rbac` prints, in every GKE cluster."
  value       = google_service_account.functions.email
}

output "secret_events_topic" {
  description = "Set this topic on every bound secret (done for you with manage_secret_topics = true)."
  value       = google_pubsub_topic.secret_events.id
}

output "notification_commands" {
  description = "gcloud commands that set the notification topic on existing bound secrets."
  value = [
    for k, s in local.bound_secrets :
    "gcloud secrets update ${s.secret} --project ${s.project} --add-topics ${google_pubsub_topic.secret_events.id}"
  ]
}

output "functions" {
  description = "Function names by role."
  value       = { for k, f in google_cloudfunctions2_function.this : k => f.name }
}
