//go:build tools

// Package tools pins the binary built from this scratch module.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
