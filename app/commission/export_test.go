package commission

import "context"

// CommitInOneBatch checks each envelope as Submit does, then commits them
// all in one batch, in the order given, and returns each one's answer:
// for tests of what a group commit decides when a batch holds several
// versions of one form.
func (s *Service) CommitInOneBatch(ctx context.Context, raws [][]byte) ([]*Receipt, []error) {
	receipts, errs := make([]*Receipt, len(raws)), make([]error, len(raws))
	var batch []*pending
	var at []int
	for i, raw := range raws {
		c, err := s.check(ctx, raw, nil)
		if err != nil {
			errs[i] = err
			continue
		}
		batch = append(batch, &pending{c: c, done: make(chan outcome, 1)})
		at = append(at, i)
	}
	if len(batch) > 0 {
		s.commitBatch(batch)
	}
	for j, p := range batch {
		o := <-p.done
		receipts[at[j]], errs[at[j]] = o.receipt, o.err
	}
	return receipts, errs
}

// HoldChecks takes every slot for checking a submission, as that many
// submissions being checked would, until release is called.
func (s *Service) HoldChecks() (release func()) {
	for range cap(s.checking) {
		s.checking <- struct{}{}
	}
	return func() {
		for range cap(s.checking) {
			<-s.checking
		}
	}
}
