// Package delegation is the domain of Fullmakt: parties and their identifiers,
// the relations that let one person act for another (self, parent, guardian,
// fullmakt, role, consent), the lifecycle of fullmakter, requests and consents, the
// rules of register import, and the Store port that every storage backend implements.
//
// It imports the standard library only. The rules that decide whether an actor may
// act in a service live in Cedar policies (package authz); this package holds the
// facts and the rules about the facts themselves: which identifiers are valid, when a
// record is in force, who may end a fullmakt, how far a fullmakt may be passed on.
// Every rule that depends on the time takes it as an argument; calendar rules are
// decided on the date in Europe/Oslo.
package delegation
