package main

import (
	"embed"
)

// web holds the page templates, compiled into the binary. The static files
// (/static/) are idp/web's: web.Static serves them.
//
//go:embed web
var web embed.FS
