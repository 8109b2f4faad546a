package station_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"tally/app/election"
	"tally/app/station"
)

// FuzzLifecycle drives the forms of a municipal election's station (two
// forms) with random sequences of operations, right and wrong, on a real
// store, and checks after each one that:
//   - a refused operation changed nothing (the form and the audit log);
//   - no sealed version ever changed or went missing;
//   - the outbox holds exactly the sealed versions without a receipt;
//   - the audit chain verifies;
//   - the second typist never sees the first entry's numbers.
func FuzzLifecycle(f *testing.F) {
	// A clean run: enter twice, photo, seal, receipt, return, correct.
	f.Add([]byte{11, 0, 0, 6, 0, 11, 1, 0, 7, 0, 9, 0, 10, 1, 8, 0})
	// With a difference to resolve and an error to confirm.
	f.Add([]byte{11, 0, 3, 11, 1, 0, 4, 0, 6, 0, 5, 0, 7, 0, 12, 9, 0})
	// Field by field, a restart in the middle.
	f.Add([]byte{0, 0, 2, 0, 1, 2, 0, 2, 12, 3, 0, 1, 1, 2, 1, 1, 3, 1})
	f.Add([]byte{7, 8, 9, 10, 4, 5, 3, 1, 0, 0})
	f.Fuzz(func(t *testing.T, program []byte) {
		if len(program) > 96 {
			program = program[:96]
		}
		e := newEnv(t, election.Municipal)
		st, err := e.svc.Status(e.ctx)
		require.NoError(t, err)
		m := &machine{e: e, sealed: map[string][]byte{}}
		for _, fs := range st.Forms {
			m.keys = append(m.keys, fs.Key)
		}
		for pc := 0; pc < len(program); {
			op := program[pc] % 13
			arg := byte(0)
			if pc+1 < len(program) {
				arg = program[pc+1]
			}
			pc += 2
			key := m.keys[int(arg>>7)%len(m.keys)]
			before := m.snapshot(key)
			err := m.run(op, key, arg&0x7f)
			after := m.snapshot(key)
			if err != nil {
				require.Equal(t, before, after, "op %d(%d) refused with %v but changed the form", op, arg, err)
			}
			m.check()
		}
	})
}

type machine struct {
	e      *env
	keys   []station.FormKey
	sealed map[string][]byte // digest → envelope, of every version ever sealed
}

type snapshot struct {
	view   *station.FormView
	audits uint64
}

func (m *machine) snapshot(key station.FormKey) snapshot {
	v, err := m.e.svc.Open(m.e.ctx, key)
	require.NoError(m.e.t, err)
	v.Layout = nil
	return snapshot{view: v, audits: m.e.auditCount()}
}

var typists = []string{"Arta Krasniqi", "Besnik Gashi", "arta krasniqi"}

func (m *machine) run(op byte, key station.FormKey, arg byte) error {
	e := m.e
	l := e.layout(key)
	clean := cleanValues(l, e.station)
	fields := []election.Field{election.FieldMembers, election.FieldRemarks}
	for _, f := range l.Fields {
		fields = append(fields, f.ID)
	}
	field := fields[int(arg)%len(fields)]
	entry := station.Entry(1 + arg%2)
	// Values: mostly right, sometimes one off, sometimes not a number.
	text := func(f election.Field) string {
		switch arg % 7 {
		case 5:
			return itoa(clean[f] + 1)
		case 6:
			return "x" + itoa(int(arg))
		}
		return itoa(clean[f])
	}
	switch op {
	case 0:
		return e.svc.Begin(e.ctx, key, station.First, typists[int(arg)%len(typists)])
	case 1:
		return e.svc.Begin(e.ctx, key, station.Second, typists[int(arg)%len(typists)])
	case 2:
		return e.svc.SaveField(e.ctx, key, entry, field, text(field))
	case 3:
		return e.svc.Finish(e.ctx, key, entry)
	case 4:
		return e.svc.Resolve(e.ctx, key, field, text(field), typists[0])
	case 5:
		rule := election.Rules[int(arg)%len(election.Rules)].Code
		return e.svc.Confirm(e.ctx, key, rule, "Kështu është në formularin e nënshkruar.", typists[0])
	case 6:
		_, err := e.svc.AttachPhoto(e.ctx, key, photo(itoa(int(arg%3))), typists[0])
		return err
	case 7:
		signer := e.key
		if arg%5 == 4 {
			signer = seededKey(e.t, 7)
		}
		v, err := e.svc.Seal(e.ctx, key, signer)
		if err == nil {
			m.sealed[v.Digest] = v.Envelope
		}
		return err
	case 8:
		return e.svc.Correct(e.ctx, key, typists[int(arg)%2])
	case 9, 10:
		vs := m.versions()
		if len(vs) == 0 {
			return errors.New("nothing sealed yet")
		}
		v := vs[int(arg)%len(vs)]
		if op == 9 {
			_, err := e.svc.RecordReceipt(e.ctx, e.receipt(&v, uint64(v.Sequence)))
			return err
		}
		verdict, reason := election.Approve, ""
		if arg%2 == 1 {
			verdict, reason = election.Return, "Rinumëroni fletëvotimet."
		}
		_, err := e.svc.RecordDecision(e.ctx, e.decision(&v, verdict, reason), e.c.supervisors(e.t))
		return err
	case 11:
		values := clean
		if arg%4 == 3 {
			values = clone(clean)
			values[field] = clean[field] + 2
		}
		by := typists[0]
		if entry == station.Second {
			by = typists[1]
		}
		return e.svc.Enter(e.ctx, key, entry, by, typed(values))
	case 12:
		// A restart: a new service on the same store.
		e.svc = station.New(e.db, station.Options{Now: e.clock.Now, KDF: testKDF})
		return nil
	}
	return nil
}

// versions lists every stored version, in the order sealed.
func (m *machine) versions() []station.Version {
	var vs []station.Version
	require.NoError(m.e.t, m.e.db.View(m.e.ctx, func(r station.Reader) error {
		return r.AllVersions(func(v station.Version) error {
			vs = append(vs, v)
			return nil
		})
	}))
	return vs
}

func (m *machine) check() {
	t := m.e.t
	l := m.e.ledger()
	require.Equal(t, m.sealed, l.versions, "sealed versions changed or went missing")
	l.checkOutbox(t)
	m.e.auditCount()

	for _, key := range m.keys {
		v, err := m.e.svc.Open(m.e.ctx, key)
		require.NoError(t, err)
		require.Contains(t, station.States, v.State)
		if v.State == station.StateSecondPending {
			require.Nil(t, v.Values, "the first entry is shown before the second is typed")
		}
		if v.State == station.StateSecondEntry {
			require.Equal(t, station.Second, v.Entry)
		}
	}
}
