package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"tally/app/commission"
	"tally/app/seal"
)

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	err := s.svc.Ready(ctx)
	if err == nil {
		_, err = s.svc.StoreCounts(ctx) // the store answers
	}
	if err != nil {
		p := s.asProblem(err)
		return &problem{status: http.StatusServiceUnavailable, kind: string(commission.EUnavailable),
			detail: "not ready: " + p.detail, cause: err, retryAfter: s.cfg.RetryAfter}
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// getElection serves the signed definition, with an ETag and ranges: it
// is large and never changes.
func (s *Server) getElection(w http.ResponseWriter, r *http.Request) error {
	signed, err := s.svc.SignedElection(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", `"`+seal.Digest(signed)+`"`)
	w.Header().Set("Cache-Control", "public, max-age=60")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(signed))
	return nil
}

func (s *Server) getKeys(w http.ResponseWriter, r *http.Request) error {
	list, err := s.svc.SignedKeyList(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeEnvelope(w, http.StatusOK, list)
	return nil
}

// EnrolledKey answers POST /v1/enroll.
type EnrolledKey struct {
	KeyID      string    `json:"key_id"`
	Role       string    `json:"role"`
	Unit       string    `json:"unit"`
	EnrolledAt time.Time `json:"enrolled_at"`
}

func (s *Server) postEnroll(w http.ResponseWriter, r *http.Request) error {
	body, env, err := readEnvelope(r, s.cfg.MaxEnrollBytes)
	if err != nil {
		return err
	}
	// Was this key enrolled already? Then a success is a repeat. (Two
	// identical requests at once may both be answered 201.)
	prior, err := s.svc.EnrolledKey(r.Context(), env.Signatures[0].KeyID)
	if err != nil && commission.KindOf(err) != commission.ENotFound {
		return err
	}
	k, err := s.svc.Enroll(r.Context(), body)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if prior != nil && prior.ID == k.ID {
		status = http.StatusOK
	}
	return writeJSON(w, status, EnrolledKey{KeyID: k.ID, Role: string(k.Role), Unit: k.Unit, EnrolledAt: k.EnrolledAt})
}

// Challenge answers POST /v1/auth/challenge.
type Challenge struct {
	Challenge string    `json:"challenge"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) postChallenge(w http.ResponseWriter, r *http.Request) error {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<10)) // it has no body to speak of
	c, exp, err := s.newChallenge(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, Challenge{Challenge: c, ExpiresAt: exp.UTC()})
}

// Token answers POST /v1/auth/token.
type Token struct {
	Token     string    `json:"token"`
	TokenType string    `json:"token_type"`
	ExpiresAt time.Time `json:"expires_at"`
	KeyID     string    `json:"key_id"`
	Role      string    `json:"role"`
	Unit      string    `json:"unit"`
}

func (s *Server) postToken(w http.ResponseWriter, r *http.Request) error {
	body, env, err := readEnvelope(r, s.cfg.MaxAuthBytes)
	if err != nil {
		return err
	}
	if err := s.limitKey(env); err != nil {
		return err
	}
	secret, err := s.secrets.get(r.Context(), challengeSecret)
	if err != nil {
		return err
	}
	k, err := s.svc.Authenticate(r.Context(), body, func(c string) error { return s.checkChallenge(secret, c) })
	if err != nil {
		return err
	}
	tok, exp, err := s.newToken(r.Context(), k)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, Token{Token: tok, TokenType: "Bearer", ExpiresAt: exp.UTC(), KeyID: k.ID,
		Role: string(k.Role), Unit: k.Unit})
}

// limitKey counts a request against the rate of the key that signed its
// envelope.
func (s *Server) limitKey(env *seal.Envelope) error {
	if ok, wait := s.keys.allow(env.Signatures[0].KeyID); !ok {
		return rateLimited(wait, "too many requests signed by key %s", seal.Fingerprint(env.Signatures[0].KeyID))
	}
	return nil
}

func rateLimited(wait time.Duration, format string, args ...any) *problem {
	p := newProblem(http.StatusTooManyRequests, kindRateLimited, format, args...)
	p.retryAfter = wait
	return p
}

// putSubmission takes a sealed submission in. The envelope authenticates
// itself: the use case verifies it against the station's enrolled key.
func (s *Server) putSubmission(w http.ResponseWriter, r *http.Request) error {
	result := resultRefused
	defer func() { s.metrics.submission(result) }()
	digest := r.PathValue("digest")
	body, env, err := readEnvelope(r, s.cfg.MaxSubmissionBytes)
	if err != nil {
		return err
	}
	if err := checkDigest(body, digest); err != nil {
		return err
	}
	if err := s.limitKey(env); err != nil {
		return err
	}
	rc, err := s.svc.SubmitEnvelope(r.Context(), body, env)
	if err != nil {
		if commission.KindOf(err) == commission.EConflict {
			result = resultConflict
		}
		return err
	}
	status := http.StatusCreated
	result = resultNew
	if rc.Repeat {
		status, result = http.StatusOK, resultRepeat
	} else {
		s.resultsChanged()
	}
	w.Header().Set("Location", "/v1/submissions/"+digest)
	w.Header().Set("Cache-Control", "no-store")
	writeEnvelope(w, status, rc.Envelope)
	return nil
}

func (s *Server) getSubmission(w http.ResponseWriter, r *http.Request) error {
	sub, err := s.svc.StoredSubmission(r.Context(), r.PathValue("digest"))
	if err != nil {
		return err
	}
	if id := caller(r); !id.mayReadStation(sub.Station, sub.Municipality) {
		return forbidden("the %s may not read station %s's submissions", id, sub.Station)
	}
	w.Header().Set("ETag", `"`+sub.Digest+`"`)
	w.Header().Set("Cache-Control", "private, max-age=31536000, immutable")
	writeEnvelope(w, http.StatusOK, sub.Envelope)
	return nil
}

// putDecision takes a supervisor's signed decision in.
func (s *Server) putDecision(w http.ResponseWriter, r *http.Request) error {
	digest := r.PathValue("digest")
	body, env, err := readEnvelope(r, s.cfg.MaxDecisionBytes)
	if err != nil {
		return err
	}
	if err := checkDigest(body, digest); err != nil {
		return err
	}
	if err := s.limitKey(env); err != nil {
		return err
	}
	prior, err := s.svc.StoredDecision(r.Context(), digest)
	if err != nil && commission.KindOf(err) != commission.ENotFound {
		return err
	}
	d, err := s.svc.Decide(r.Context(), body)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if prior != nil {
		status = http.StatusOK
	} else {
		s.resultsChanged()
	}
	return writeJSON(w, status, decisionView(d, false))
}

// patchAttachment takes one part of a station's photo of a paper form.
func (s *Server) patchAttachment(w http.ResponseWriter, r *http.Request) error {
	if err := checkContentType(r, partTypes); err != nil {
		return err
	}
	size, err := headerInt(r, "Upload-Length")
	if err != nil {
		return err
	}
	offset, err := headerInt(r, "Upload-Offset")
	if err != nil {
		return err
	}
	part, err := readBody(r, s.cfg.MaxPartBytes)
	if err != nil {
		return err
	}
	state, err := s.svc.Upload(r.Context(), caller(r).Unit, r.PathValue("sha256"), size, offset, part)
	if state != nil {
		received := state.Received
		if err != nil && commission.KindOf(err) == commission.EInvalid && state.Received == state.Size {
			received = 0 // the whole did not match its hash and was forgotten: start again
		}
		w.Header().Set("Upload-Offset", strconv.FormatInt(received, 10))
		w.Header().Set("Upload-Length", strconv.FormatInt(state.Size, 10))
	}
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkAttachmentReader lets the station that sent an attachment read it,
// and its municipality's supervisor.
func (s *Server) checkAttachmentReader(r *http.Request, station string) error {
	def, err := s.svc.Definition(r.Context())
	if err != nil {
		return err
	}
	id := caller(r)
	st, ok := def.Station(station)
	if !ok || !id.mayReadStation(st.Code, st.Municipality) {
		return forbidden("the %s may not read station %s's attachments", id, station)
	}
	return nil
}

func (s *Server) headAttachment(w http.ResponseWriter, r *http.Request) error {
	u, err := s.svc.UploadProgress(r.Context(), r.PathValue("sha256"))
	if err != nil {
		return err
	}
	if err := s.checkAttachmentReader(r, u.Station); err != nil {
		return err
	}
	w.Header().Set("Upload-Offset", strconv.FormatInt(u.Received, 10))
	w.Header().Set("Upload-Length", strconv.FormatInt(u.Size, 10))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) getAttachment(w http.ResponseWriter, r *http.Request) error {
	a, data, err := s.svc.StoredAttachment(r.Context(), r.PathValue("sha256"))
	if err != nil {
		return err
	}
	if err := s.checkAttachmentReader(r, a.Station); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", `attachment; filename="`+a.SHA256+`"`)
	h.Set("ETag", `"`+a.SHA256+`"`)
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	http.ServeContent(w, r, "", a.ReceivedAt, bytes.NewReader(data))
	return nil
}

func (s *Server) getStation(w http.ResponseWriter, r *http.Request) error {
	def, err := s.svc.Definition(r.Context())
	if err != nil {
		return err
	}
	code := r.PathValue("code")
	st, ok := def.Station(code)
	if !ok {
		return newProblem(http.StatusNotFound, string(commission.ENotFound), "station %s is not in election %s", code, def.Election.ID)
	}
	if id := caller(r); !id.mayReadStation(st.Code, st.Municipality) {
		return forbidden("the %s may not read station %s", id, st.Code)
	}
	rec, err := s.svc.StationRecord(r.Context(), st.Code)
	if err != nil {
		return err
	}
	v := StationView{Station: stationInfo(st), Forms: indexRecord(rec).forms(st),
		Submissions: make([]SubmissionView, 0, len(rec.Submissions)),
		Decisions:   make([]DecisionView, 0, len(rec.Decisions)), Conflicts: conflictViews(rec.Conflicts)}
	for i := range rec.Submissions {
		sub := &rec.Submissions[i]
		receipt, err := s.svc.ReceiptOf(sub)
		if err != nil {
			return err
		}
		v.Submissions = append(v.Submissions, SubmissionView{Digest: sub.Digest, Contest: sub.Contest, Form: sub.Form,
			Version: sub.Version, Supersedes: sub.Supersedes, Number: sub.Number, ReceivedAt: sub.ReceivedAt,
			SealedAt: sub.SealedAt, PhotoSHA256: sub.PhotoSHA256, KeyID: sub.KeyID, Receipt: receipt})
	}
	for i := range rec.Decisions {
		v.Decisions = append(v.Decisions, decisionView(&rec.Decisions[i], true))
	}
	return writeJSON(w, http.StatusOK, v)
}

// municipalityFor finds the municipality of a route and checks that the
// caller is its supervisor.
func (s *Server) municipalityFor(r *http.Request) (string, error) {
	def, err := s.svc.Definition(r.Context())
	if err != nil {
		return "", err
	}
	code := r.PathValue("code")
	if _, ok := def.Municipality(code); !ok {
		return "", newProblem(http.StatusNotFound, string(commission.ENotFound), "municipality %s is not in election %s", code, def.Election.ID)
	}
	if id := caller(r); !id.mayReadMunicipality(code) {
		return "", forbidden("the %s may not read municipality %s", id, code)
	}
	return code, nil
}

func (s *Server) getMunicipalityStations(w http.ResponseWriter, r *http.Request) error {
	code, err := s.municipalityFor(r)
	if err != nil {
		return err
	}
	def, err := s.svc.Definition(r.Context())
	if err != nil {
		return err
	}
	rec, err := s.svc.MunicipalityRecord(r.Context(), code)
	if err != nil {
		return err
	}
	m, _ := def.Municipality(code)
	ix := indexRecord(rec)
	v := MunicipalityView{Municipality: code, Name: m.Name, Counts: map[FormState]int{}, Stations: []MunicipalityStation{}}
	for _, state := range States {
		v.Counts[state] = 0
	}
	for i := range def.Stations {
		st := &def.Stations[i]
		if st.Municipality != code {
			continue
		}
		ms := MunicipalityStation{StationInfo: stationInfo(st), Forms: ix.forms(st)}
		for _, f := range ms.Forms {
			v.Counts[f.State]++
		}
		v.Stations = append(v.Stations, ms)
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) getMunicipalityConflicts(w http.ResponseWriter, r *http.Request) error {
	code, err := s.municipalityFor(r)
	if err != nil {
		return err
	}
	rec, err := s.svc.MunicipalityRecord(r.Context(), code)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ConflictsView{Municipality: code, Conflicts: conflictViews(rec.Conflicts)})
}
