// Package authz is the decision core: facts in, Decision out.
//
// A Pack is a loaded, validated policy pack (Cedar policies, the Cedar schema and the
// service catalogue). Pack.Decide answers "may this actor do this action in this
// service for this party, now, at this level of assurance?" from Facts the caller has
// gathered: it evaluates one Cedar request per candidate relation, fails closed when a
// policy errors, and derives step-up (the lowest level, and a max_age) by asking the
// policies again at higher levels.
//
// The package is pure: no I/O beyond reading the fs.FS a pack is loaded from, no
// logging. It imports cedar-go and the delegation domain types, nothing else from
// this repository.
package authz
