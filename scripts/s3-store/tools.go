//go:build tools

// Package tools pins the binary built from this scratch module.
package tools

import (
	_ "github.com/minio/minio"
)
