// Package web is the browser side shared by the login and the portal: the page
// layout every browser page is rendered in, the message catalogues and the choice
// of language, the security headers (a strict Content-Security-Policy with no inline
// script or style), form tokens against cross-site request forgery, and the static
// files (the stylesheet and the little JavaScript WebAuthn needs) under /static/.
//
// Pages are html/template files that define "title" and "main"; Pages.Render puts
// them in the layout, in the language Negotiate picks, and writes them only once
// they rendered completely.
//
// It imports nothing from this repository but authz (for the level shown in the
// page header): no storage, no OAuth, no sessions. Those belong to its callers.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// own holds web's own message files and the layout, compiled into the binary.
//
//go:embed messages templates
var own embed.FS

// staticFiles holds the files served under /static/.
//
//go:embed static
var staticFiles embed.FS

// Static serves the static files (static/ in this package: the stylesheet, and the
// scripts pages name in View.Scripts) under /static/. Files may be cached for an
// hour. Directories are not listed. Mount it at "GET /static/".
func Static() http.Handler {
	files, err := fs.Sub(staticFiles, "static")
	if err != nil {
		// fs.Sub fails only on an invalid path, and "static" is valid.
		panic("web: static files: " + err.Error())
	}
	fileServer := http.FileServerFS(files)
	return http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only files: no directory listings, and a missing file is not cached.
		name := strings.TrimPrefix(r.URL.Path, "/")
		if info, err := fs.Stat(files, name); err != nil || info.IsDir() || strings.HasSuffix(name, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	}))
}
