package harness

import (
	"sync"
	"time"

	"tally/sync/worker"
)

// Recorder keeps every state a worker publishes (its Options.OnState),
// for a test to wait for one and to look back at the phases an item went
// through.
type Recorder struct {
	mu      sync.Mutex
	states  []worker.State
	changed chan struct{}
}

// NewRecorder makes an empty recorder.
func NewRecorder() *Recorder { return &Recorder{changed: make(chan struct{})} }

// OnState records a state; give it to worker.Options.OnState.
func (r *Recorder) OnState(s worker.State) {
	r.mu.Lock()
	r.states = append(r.states, s)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// Len is how many states were recorded.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.states)
}

// States are the states recorded from index from on.
func (r *Recorder) States(from int) []worker.State {
	r.mu.Lock()
	defer r.mu.Unlock()
	if from > len(r.states) {
		return nil
	}
	return append([]worker.State(nil), r.states[from:]...)
}

// Wait waits for the first state, recorded at index from or later, for
// which cond holds, until timeout. It returns the state's index and the
// state, or -1 when none came in time.
func (r *Recorder) Wait(from int, timeout time.Duration, cond func(worker.State) bool) (int, worker.State) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for i := from; ; {
		r.mu.Lock()
		for ; i < len(r.states); i++ {
			if cond(r.states[i]) {
				s := r.states[i]
				r.mu.Unlock()
				return i, s
			}
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			return -1, worker.State{}
		}
	}
}

// Item is the item of a state with the given digest.
func Item(s worker.State, digest string) (worker.Item, bool) {
	for _, it := range s.Items {
		if it.Digest == digest {
			return it, true
		}
	}
	return worker.Item{}, false
}
