//go:build tools

// Package apiserver pins the Kubernetes control-plane binaries that the conformance suite runs.
// Nothing here is compiled into the product: scripts/test-servers.sh builds the commands
// imported below from this module, so go.mod and go.sum decide exactly which sources are used.
package apiserver

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
