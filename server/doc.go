// Package server is tallyd's HTTP API: JSON under /v1 over the
// commission's use cases (app/commission). It leaves to the use cases what
// they verify (envelopes, keys, forms, conflicts) and does the rest: it
// bounds and checks what comes in (body sizes, content types, path
// parameters, rates), proves who is asking (a signed challenge exchanged
// for a short-lived, stateless token), decides what each caller may read
// (a station itself, a supervisor the municipality), answers every
// refusal with RFC 9457 problem JSON, and logs each refusal once.
//
// The routes are listed once, in routes.go; docs/api.md documents them and
// a test holds the two to each other. Metrics are written in the
// Prometheus text format by a small registry of the server's own
// (metrics.go).
package server
