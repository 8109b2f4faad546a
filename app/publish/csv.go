package publish

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"tally/app/election"
)

// The CSV exports are one file per contest and level, one row per unit, a
// column per entity ("I.n", in ballot order): what a spreadsheet opens.
// Rows follow the definition's order, so the same snapshot always gives
// the same bytes. Shares are left to the reader; the JSON has them.

var tallyHeader = []string{
	"stations", "reported", "registered", "registered_reported", "voted", "ballots_received",
	"ballots_unused", "ballots_spoiled", "ballots_in_box", "invalid", "valid", "turnout_bp",
}

func tallyRecord(t *Tally) []string {
	out := make([]string, 0, len(tallyHeader)+len(t.Votes))
	for _, c := range t.counts() {
		out = append(out, strconv.Itoa(*c.n))
	}
	out = append(out, strconv.Itoa(t.TurnoutBP))
	for _, v := range t.Votes {
		out = append(out, strconv.Itoa(v))
	}
	return out
}

func entityHeader(cr *ContestResults) []string {
	out := make([]string, len(cr.Entities))
	for i, n := range cr.Entities {
		out[i] = string(election.EntityField(n))
	}
	return out
}

func snapshotContest(s *Snapshot, contest string) (*ContestResults, error) {
	for i := range s.Results.Contests {
		if s.Results.Contests[i].Contest == contest {
			return &s.Results.Contests[i], nil
		}
	}
	return nil, fmt.Errorf("publish: snapshot %d has no contest %q", s.Number, contest)
}

// WriteStationsCSV writes a contest's results per polling station: where
// the station is, whether and which version of its form is counted, and
// its figures.
func WriteStationsCSV(w io.Writer, def *election.Definition, s *Snapshot, contest string) error {
	cr, err := snapshotContest(s, contest)
	if err != nil {
		return err
	}
	entries := map[string]*StationEntry{}
	for i := range s.Stations {
		if e := &s.Stations[i]; e.Contest == contest && e.Form == election.ResultsForm {
			entries[e.Station] = e
		}
	}
	cw := csv.NewWriter(w)
	header := append([]string{"contest", "municipality", "centre", "station", "review", "version", "digest", "photo_sha256"}, tallyHeader...)
	if err := cw.Write(append(header, entityHeader(cr)...)); err != nil {
		return err
	}
	for i := range cr.Stations {
		t := &cr.Stations[i]
		st, ok := def.Station(t.Code)
		if !ok {
			return fmt.Errorf("publish: snapshot %d: station %s is not in the election", s.Number, t.Code)
		}
		row := []string{contest, st.Municipality, st.Centre, st.Code, "", "", "", ""}
		if e := entries[st.Code]; e != nil {
			row[4], row[5], row[6], row[7] = string(e.Review), strconv.Itoa(e.Version), e.Digest, e.PhotoSHA256
		}
		if err := cw.Write(append(row, tallyRecord(t)...)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteMunicipalitiesCSV writes a contest's results per municipality, and
// a last row for the whole contest (level "national").
func WriteMunicipalitiesCSV(w io.Writer, s *Snapshot, contest string) error {
	cr, err := snapshotContest(s, contest)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	header := append([]string{"contest", "level", "municipality"}, tallyHeader...)
	if err := cw.Write(append(header, entityHeader(cr)...)); err != nil {
		return err
	}
	for i := range cr.Municipalities {
		t := &cr.Municipalities[i]
		if err := cw.Write(append([]string{contest, "municipality", t.Code}, tallyRecord(t)...)); err != nil {
			return err
		}
	}
	if err := cw.Write(append([]string{contest, "national", ""}, tallyRecord(&cr.National)...)); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}
