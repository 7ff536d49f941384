// Package registers is the streaming JSON Lines import of register feeds: persons and
// organisations, parental responsibility, guardianships and roles from the population,
// guardianship and business registers, and fullmakter migrated from older systems
// (PRODUCT.md, external contract 3).
//
// Import reads one record per line in constant memory, decodes it (ParseLine), and
// applies it with delegation.ApplyRecord inside the store's register transactions, in
// batches or, when strict, all at once. A bad line is reported by its number and does
// not stop the good ones; importing the same feed again changes nothing.
//
// It depends on the domain (delegation) and the standard library only; the store is
// reached through the small Updater interface, so it never imports a backend.
package registers
