package publish

// EncodeSnapshotWith encodes snapshots one after the other through one
// entry cache, as a publisher does: the payload, and the payload without
// the station envelopes.
func EncodeSnapshotWith() func(*Snapshot) ([]byte, []byte, error) {
	cache := &entryCache{}
	return func(s *Snapshot) ([]byte, []byte, error) { return encodeSnapshot(s, cache) }
}
