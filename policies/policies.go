// Package policies is Fullmakt's default policy pack: the Cedar policies (*.cedar),
// the Cedar schema of a decision request (schema.cedarschema) and the service
// catalogue (services.json), embedded in the binary together with README.md, which
// explains the pack to the security teams who change it, and the decision cases in
// testdata/.
//
// A deployment may replace the pack with a folder of its own (fullmakt serve
// --policies DIR); this package is only the default. It imports authz to load the
// pack and nothing else from this repository: not the store, the identity
// provider, the HTTP layers or cmd.
package policies

import (
	"embed"
	"io/fs"

	"github.com/fullmakt/fullmakt/authz"
)

//go:embed services.json schema.cedarschema *.cedar README.md testdata/*.json
var pack embed.FS

// FS returns the embedded pack: services.json, schema.cedarschema and every *.cedar
// file at the top, with README.md and the decision cases in testdata/. authz.Load
// reads only the pack's own files and skips testdata, so FS is both a loadable pack
// and a folder to export as the starting point of a new one.
func FS() fs.FS { return pack }

// Load loads and validates the embedded pack.
func Load(opts ...authz.Option) (*authz.Pack, error) {
	return authz.Load(pack, opts...)
}
