//go:build tools

// Package etcd pins the etcd server that the conformance suite falls back to when Debian's
// etcd-server is not installed. scripts/test-servers.sh builds the command imported below from
// this module; etcd's own go.mod replaces its sibling modules by relative paths, which `go
// install` refuses, so a consumer module is the way to build it from the module proxy.
package etcd

import (
	_ "go.etcd.io/etcd/server/v3"
)
