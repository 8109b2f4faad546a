package ui

import (
	"sync"
	"sync/atomic"

	"fyne.io/fyne/v2"
)

// queue runs the screens' work on the store one job at a time, in the
// order it was asked for, away from the UI goroutine: typing never waits
// on the disk, and a field typed before "finish" is saved before the
// entry is finished.
type queue struct {
	mu      sync.Mutex
	jobs    []job
	running bool
	idle    chan struct{} // closed while no job runs or waits
	// deliver runs a job's outcome on the UI goroutine and returns when
	// it has run.
	deliver func(func())
	// handed carries the outcomes to wait, when the goroutine that waits
	// is the UI goroutine (tests).
	handed chan func()
	// stopping is set when the app is being stopped by a signal: Fyne
	// tears its driver down at the same moment, and an outcome shown then
	// may find the window gone.
	stopping atomic.Bool
}

// job is work on the store and what the screen does with its outcome.
type job struct {
	work func() error
	then func(error) // on the UI goroutine; may be nil
}

func newQueue() *queue {
	q := &queue{idle: make(chan struct{}), deliver: fyne.DoAndWait}
	close(q.idle)
	return q
}

// handOver makes wait run the outcomes, on the goroutine that waits. The
// test driver runs fyne.Do at once on the calling goroutine; with this,
// the test's goroutine is the only one that touches the widgets, as the
// main goroutine is in the app.
func (q *queue) handOver() {
	q.handed = make(chan func())
	q.deliver = func(fn func()) {
		done := make(chan struct{})
		q.handed <- func() { fn(); close(done) }
		<-done
	}
}

// do queues work; then runs on the UI goroutine once the work is done.
func (q *queue) do(work func() error, then func(error)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, job{work: work, then: then})
	if !q.running {
		q.running = true
		q.idle = make(chan struct{})
		go q.loop()
	}
}

func (q *queue) loop() {
	for {
		q.mu.Lock()
		if len(q.jobs) == 0 {
			q.running = false
			close(q.idle)
			q.mu.Unlock()
			return
		}
		j := q.jobs[0]
		q.jobs = q.jobs[1:]
		q.mu.Unlock()
		err := j.work()
		if j.then != nil {
			q.show(func() { j.then(err) })
		}
	}
}

// show runs an outcome on the UI goroutine. While the app stops, a
// window already gone is no failure: the work itself is done and stored.
func (q *queue) show(fn func()) {
	if q.stopping.Load() {
		defer func() { _ = recover() }()
	}
	q.deliver(fn)
}

// wait blocks until every queued job has run and its outcome has been
// shown, the jobs those outcomes queued included. Only tests wait: on the
// UI goroutine of a running app it would stop the outcomes it waits for.
func (q *queue) wait() {
	for {
		q.mu.Lock()
		idle := q.idle
		q.mu.Unlock()
		select {
		case fn := <-q.handed:
			fn()
		case <-idle:
			return
		}
	}
}
