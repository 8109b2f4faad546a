// Package server is tallyd: the API, verified ingest, receipts,
// aggregation and publication.
package server
