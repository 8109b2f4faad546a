package publish

// EncodeSnapshotWith encodes snapshots one after the other through one
// entry cache, as a publisher does.
func EncodeSnapshotWith() func(*Snapshot) ([]byte, error) {
	cache := &entryCache{}
	return func(s *Snapshot) ([]byte, error) { return encodeSnapshot(s, cache) }
}
