package station

import (
	"fmt"
	"slices"
)

// State is where a form stands in its life.
type State string

// The states of a form.
const (
	StateEmpty         State = "empty"          // nothing typed yet
	StateFirstEntry    State = "first_entry"    // the first commissioner is typing
	StateSecondPending State = "second_pending" // the first entry is finished; the second has not begun
	StateSecondEntry   State = "second_entry"   // another commissioner is typing, without seeing the first entry
	StateDifferences   State = "differences"    // the two entries disagree; each difference is settled by retyping
	StateAgreed        State = "agreed"         // the entries agree: ready to seal once errors are confirmed
	StateSealed        State = "sealed"         // the version is signed and queued or delivered
	StateReturned      State = "returned"       // a supervisor returned the sealed version for correction
	StateApproved      State = "approved"       // a supervisor approved the sealed version
)

// States lists every state, in the order of a form's life.
var States = []State{StateEmpty, StateFirstEntry, StateSecondPending, StateSecondEntry,
	StateDifferences, StateAgreed, StateSealed, StateReturned, StateApproved}

// Op is something done to a form.
type Op string

// The operations on a form.
const (
	OpBeginFirst   Op = "begin_first"
	OpSaveFirst    Op = "save_first"
	OpFinishFirst  Op = "finish_first"
	OpBeginSecond  Op = "begin_second"
	OpSaveSecond   Op = "save_second"
	OpFinishSecond Op = "finish_second"
	OpResolve      Op = "resolve"
	OpConfirm      Op = "confirm"
	OpAttachPhoto  Op = "attach_photo"
	OpSeal         Op = "seal"
	OpApprove      Op = "approve"
	OpReturn       Op = "return"
	OpCorrect      Op = "correct"
)

// transitions is the whole state machine: for each state, the operations
// allowed in it and the states each may lead to. Anything else is refused.
var transitions = map[State]map[Op][]State{
	StateEmpty: {
		OpBeginFirst: {StateFirstEntry},
	},
	StateFirstEntry: {
		OpSaveFirst:   {StateFirstEntry},
		OpAttachPhoto: {StateFirstEntry},
		OpFinishFirst: {StateSecondPending},
	},
	StateSecondPending: {
		OpAttachPhoto: {StateSecondPending},
		OpBeginSecond: {StateSecondEntry},
	},
	StateSecondEntry: {
		OpSaveSecond:   {StateSecondEntry},
		OpFinishSecond: {StateDifferences, StateAgreed},
	},
	StateDifferences: {
		OpResolve:     {StateDifferences, StateAgreed},
		OpAttachPhoto: {StateDifferences},
	},
	StateAgreed: {
		OpConfirm:     {StateAgreed},
		OpAttachPhoto: {StateAgreed},
		OpSeal:        {StateSealed},
	},
	StateSealed: {
		OpApprove: {StateApproved},
		OpReturn:  {StateReturned},
		OpCorrect: {StateFirstEntry},
	},
	StateReturned: {
		OpApprove: {StateApproved},
		OpCorrect: {StateFirstEntry},
	},
	StateApproved: {
		// An approval stands until the supervisor withdraws it by
		// returning the form; the station cannot correct it on its own.
		OpReturn: {StateReturned},
	},
}

// Allowed lists the operations allowed in a state.
func Allowed(s State) []Op {
	var ops []Op
	for op := range transitions[s] {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}

// TransitionError refuses an operation that the form's state does not allow.
type TransitionError struct {
	Op    Op
	State State
	To    State // set when the operation is allowed but not towards this state
}

func (e *TransitionError) Error() string {
	if e.To != "" {
		return fmt.Sprintf("%s cannot lead from %s to %s", e.Op, e.State, e.To)
	}
	return fmt.Sprintf("%s is not allowed while the form is %s (allowed: %v)", e.Op, e.State, Allowed(e.State))
}

// MessageKey names the catalog message for the user.
func (e *TransitionError) MessageKey() string { return "station.transition" }

// check refuses op in state s.
func check(s State, op Op) error {
	if _, ok := transitions[s][op]; !ok {
		return &TransitionError{Op: op, State: s}
	}
	return nil
}

// move applies op to the sheet, leading to state to.
func (sh *Sheet) move(op Op, to State) error {
	targets, ok := transitions[sh.State][op]
	if !ok {
		return &TransitionError{Op: op, State: sh.State}
	}
	if !slices.Contains(targets, to) {
		return &TransitionError{Op: op, State: sh.State, To: to}
	}
	sh.State = to
	return nil
}
