package main

import (
	"embed"
	"io/fs"
	"net/http"
)

// web holds the page templates and the static files, compiled into the binary.
//
//go:embed web
var web embed.FS

// newStaticHandler serves web/static under /static/.
func newStaticHandler() (http.Handler, error) {
	static, err := fs.Sub(web, "web/static")
	if err != nil {
		return nil, err
	}
	return http.StripPrefix("/static/", http.FileServerFS(static)), nil
}
