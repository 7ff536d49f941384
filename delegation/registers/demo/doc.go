// Package demo writes demo data in the register import format (JSON Lines, see
// package registers): a fixed, named cast that `fullmakt serve --demo` loads and the
// README introduces, and a synthetic population of any size, household by household,
// for trying the service at scale and for benchmarks.
//
// Every identity number is a Norwegian synthetic test number (80 added to the month),
// which no real person has and which an importer accepts only with
// delegation.IDRules.AllowSynthetic; organisation numbers begin with 31, which no
// real organisation's does. Names are common Norwegian names, and any likeness to
// a real person is chance.
//
// Both are deterministic: the cast for the month its date falls in, the population
// for its Options. The package imports the standard library and package delegation
// only; it does not import the importer or any store.
package demo
