//go:build tools

// Package vault pins the Vault server that the tests run against in dev mode. Nothing here is
// compiled into the product: scripts/test-servers.sh builds the command imported below from
// this module, so go.mod and go.sum decide exactly which sources are used.
package vault

import (
	_ "github.com/hashicorp/vault"
)
