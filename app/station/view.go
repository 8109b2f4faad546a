package station

import (
	"context"
	"errors"

	"tally/app/audit"
	"tally/app/election"
	"tally/app/seal"
)

// FormView is what a screen shows of one form. It never shows the first
// entry's numbers to the second typist: while the second entry is pending
// or in progress, Values hold the second entry's only.
type FormView struct {
	Key     FormKey          `json:"key"`
	State   State            `json:"state"`
	Version int              `json:"version"`
	Layout  *election.Layout `json:"-"`
	// Entry is the entry being typed (First or Second), 0 when none is.
	Entry Entry  `json:"entry,omitempty"`
	By    string `json:"by,omitempty"` // who types it
	// Values are the numbers to show: the entry being typed, or the
	// agreed numbers once both entries agree; nil when none may be shown.
	Values      map[election.Field]int  `json:"values,omitempty"`
	Findings    []election.Finding      `json:"findings,omitempty"`
	Differences []election.Difference   `json:"differences,omitempty"` // unresolved, in the differences state
	Resolved    map[election.Field]int  `json:"resolved,omitempty"`
	Remarks     string                  `json:"remarks,omitempty"`
	Objections  string                  `json:"objections,omitempty"`
	Photo       string                  `json:"photo,omitempty"`
	Confirmed   []election.Confirmation `json:"confirmed,omitempty"`
	EnteredBy   string                  `json:"entered_by,omitempty"`
	ReenteredBy string                  `json:"reentered_by,omitempty"`
	Head        string                  `json:"head,omitempty"`
	Reason      string                  `json:"reason,omitempty"`
	Versions    []Version               `json:"versions,omitempty"`
	// Receipt is the receipt of the head version, once it arrived.
	Receipt *StoredReceipt `json:"receipt,omitempty"`
	// Allowed lists what the station can do to the form now.
	Allowed []Op `json:"allowed"`
}

// Open opens a form, or resumes it where it was left.
func (s *Service) Open(ctx context.Context, key FormKey) (*FormView, error) {
	sc, err := s.loadScope(ctx)
	if err != nil {
		return nil, err
	}
	l, err := sc.layout(key)
	if err != nil {
		return nil, err
	}
	v := &FormView{Key: key, Layout: l}
	err = s.store.View(ctx, func(r Reader) error {
		sh, err := r.Sheet(key)
		if err != nil {
			return err
		}
		if v.Versions, err = r.Versions(key); err != nil {
			return err
		}
		if sh.Head != "" {
			switch rc, err := r.Receipt(sh.Head); {
			case err == nil:
				v.Receipt = rc
			case !errors.Is(err, ErrNotFound):
				return err
			}
		}
		sc.fill(v, l, sh)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (sc *scope) fill(v *FormView, l *election.Layout, sh *Sheet) {
	v.State, v.Version, v.Head, v.Reason = sh.State, sh.Version, sh.Head, sh.Reason
	v.Remarks, v.Objections, v.Photo = sh.Remarks, sh.Objections, sh.Photo
	for _, op := range Allowed(sh.State) {
		if op != OpApprove && op != OpReturn { // a supervisor's, not the station's
			v.Allowed = append(v.Allowed, op)
		}
	}
	switch sh.State {
	case StateFirstEntry:
		v.Entry, v.By, v.Values = First, sh.First.By, sh.First.Values
		v.EnteredBy = sh.First.By
	case StateSecondPending:
		v.EnteredBy = sh.First.By
	case StateSecondEntry:
		v.Entry, v.By, v.Values = Second, sh.Second.By, sh.Second.Values
		v.EnteredBy, v.ReenteredBy = sh.First.By, sh.Second.By
	case StateDifferences:
		v.Differences, v.Resolved = sh.unresolved(l), sh.Resolved
		v.EnteredBy, v.ReenteredBy = sh.First.By, sh.Second.By
	default:
		if sh.State != StateEmpty {
			v.Values, v.Confirmed = sh.Agreed(), sh.Confirmed
			v.EnteredBy, v.ReenteredBy = sh.First.By, sh.Second.By
		}
	}
	if v.Values != nil {
		v.Findings = election.Validate(l, sc.station, sh.form(sc.def.Election.ID, sc.station.Code, v.Values))
	}
}

// Status is the station at a glance: who it is, each form's state, what
// waits in the outbox and what the commission has receipted.
type Status struct {
	Election    string           `json:"election"`
	Station     string           `json:"station"`
	StationName string           `json:"station_name"`
	StationKey  string           `json:"station_key"`
	Fingerprint string           `json:"station_key_fingerprint"`
	Forms       []FormStatus     `json:"forms"`
	Outbox      []OutboxItem     `json:"outbox"`
	LastReceipt *StoredReceipt   `json:"last_receipt,omitempty"`
	Provisioned Provisioning     `json:"provisioning"`
	Decisions   []StoredDecision `json:"decisions,omitempty"`
}

// FormStatus is one form's line of the status.
type FormStatus struct {
	Key      FormKey `json:"key"`
	State    State   `json:"state"`
	Version  int     `json:"version"`
	Head     string  `json:"head,omitempty"`
	Sealed   int     `json:"sealed_versions"`
	Received bool    `json:"received"` // the head version has its receipt
	Reason   string  `json:"reason,omitempty"`
}

// Status reports the station's state.
func (s *Service) Status(ctx context.Context) (*Status, error) {
	sc, err := s.loadScope(ctx)
	if err != nil {
		return nil, err
	}
	st := &Status{Election: sc.def.Election.ID, Station: sc.station.Code, StationName: sc.station.Name}
	err = s.store.View(ctx, func(r Reader) error {
		p, err := r.Provisioning()
		if err != nil {
			return err
		}
		st.Provisioned = *p
		st.StationKey = p.PublicKey
		if pub, err := seal.ParsePublicKey(p.PublicKey); err == nil {
			st.Fingerprint = seal.Fingerprint(pub.ID)
		}
		for _, key := range sc.forms() {
			sh, err := r.Sheet(key)
			if err != nil {
				return err
			}
			vs, err := r.Versions(key)
			if err != nil {
				return err
			}
			fs := FormStatus{Key: key, State: sh.State, Version: sh.Version, Head: sh.Head, Sealed: len(vs), Reason: sh.Reason}
			if sh.Head != "" {
				if _, err := r.Receipt(sh.Head); err == nil {
					fs.Received = true
				} else if !errors.Is(err, ErrNotFound) {
					return err
				}
			}
			st.Forms = append(st.Forms, fs)
		}
		if st.Outbox, err = r.Outbox(); err != nil {
			return err
		}
		receipts, err := r.Receipts()
		if err != nil {
			return err
		}
		if len(receipts) > 0 {
			st.LastReceipt = &receipts[len(receipts)-1]
		}
		st.Decisions, err = r.Decisions()
		return err
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// VerifyAudit checks the whole audit chain and returns how many records it
// holds and the last one.
func (s *Service) VerifyAudit(ctx context.Context) (uint64, *audit.Record, error) {
	var v audit.Verifier
	err := s.store.View(ctx, func(r Reader) error {
		return r.AuditRecords(v.Add)
	})
	return v.Count(), v.Head(), err
}
