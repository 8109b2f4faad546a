// Package publish turns what the commission accepted into preliminary
// results: it adds up the latest accepted version of every station's
// forms (national, per municipality, per voting centre, per station, for
// every contest), seals each set of results as a numbered, chained
// snapshot signed with the commission's publication key, checks such a
// snapshot whole as any reader can, and keeps the published snapshots,
// never changing one, ready to be served from memory.
//
// It knows no SQL and no HTTP: the server feeds it what its store holds
// and serves the bytes it returns.
package publish
