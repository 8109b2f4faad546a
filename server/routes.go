package server

import (
	"fmt"
	"net/http"
	"regexp"

	"tally/app/enrollment"
)

// Auth says who may call a route and how the caller proves it. Its text
// is what docs/api.md shows in the Auth column.
type Auth string

// The kinds of authentication.
const (
	AuthNone                Auth = "none"
	AuthEnvelope            Auth = "none (signed envelope)"
	AuthEnrollment          Auth = "none (signed request with a one-time code)"
	AuthStation             Auth = "token: station"
	AuthSupervisor          Auth = "token: supervisor"
	AuthStationOrSupervisor Auth = "token: station or its supervisor"
)

// Route is one route of the API, as registered.
type Route struct {
	Method string
	Path   string // the net/http pattern's path, wildcards included
	Auth   Auth
}

// route is a Route with its handler.
type route struct {
	Route
	handle func(http.ResponseWriter, *http.Request) error
	// limited routes count against the client address's rate; public
	// ones against the public rate instead.
	limited bool
	public  bool
	params  []string // wildcard names, from Path
}

func (rt *route) pattern() string { return rt.Method + " " + rt.Path }

// routeTable is every route of the API: the one list that registers them
// and that docs/api.md must match.
func (s *Server) routeTable() []route {
	r := func(method, path string, auth Auth, h func(http.ResponseWriter, *http.Request) error) route {
		return route{Route: Route{Method: method, Path: path, Auth: auth}, handle: h, limited: true}
	}
	ops := func(rt route) route { rt.limited = false; return rt }
	public := func(rt route) route { rt.limited, rt.public = false, true; return rt }
	return []route{
		ops(r("GET", "/healthz", AuthNone, s.healthz)),
		ops(r("GET", "/readyz", AuthNone, s.readyz)),
		ops(r("GET", "/metrics", AuthNone, s.serveMetrics)),
		r("GET", "/v1/election", AuthNone, s.getElection),
		r("GET", "/v1/keys", AuthNone, s.getKeys),
		r("POST", "/v1/enroll", AuthEnrollment, s.postEnroll),
		r("POST", "/v1/auth/challenge", AuthNone, s.postChallenge),
		r("POST", "/v1/auth/token", AuthEnvelope, s.postToken),
		r("PUT", "/v1/submissions/{digest}", AuthEnvelope, s.putSubmission),
		r("GET", "/v1/submissions/{digest}", AuthStationOrSupervisor, s.getSubmission),
		r("PUT", "/v1/decisions/{digest}", AuthEnvelope, s.putDecision),
		r("PATCH", "/v1/attachments/{sha256}", AuthStation, s.patchAttachment),
		r("HEAD", "/v1/attachments/{sha256}", AuthStationOrSupervisor, s.headAttachment),
		r("GET", "/v1/attachments/{sha256}", AuthStationOrSupervisor, s.getAttachment),
		r("GET", "/v1/stations/{code}", AuthStationOrSupervisor, s.getStation),
		r("GET", "/v1/municipalities/{code}/stations", AuthSupervisor, s.getMunicipalityStations),
		r("GET", "/v1/municipalities/{code}/conflicts", AuthSupervisor, s.getMunicipalityConflicts),
		public(r("GET", "/v1/results/latest.json", AuthNone, s.getResultsLatest)),
		public(r("GET", "/v1/results/{number}/{file...}", AuthNone, s.getResultsFile)),
		public(r("GET", "/results/{$}", AuthNone, s.getResultsPage)),
		public(r("GET", "/results/{asset}", AuthNone, s.getResultsPage)),
		public(r("GET", "/{$}", AuthNone, s.getRoot)),
	}
}

// Routes lists the routes the server registers, in order.
func (s *Server) Routes() []Route {
	out := make([]Route, len(s.routes))
	for i, rt := range s.routes {
		out[i] = rt.Route
	}
	return out
}

var (
	wildcard = regexp.MustCompile(`\{([a-z0-9]+)(?:\.\.\.)?\}`)
	hex64    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	unitCode = regexp.MustCompile(`^[0-9A-Z-]{1,32}$`)
	number   = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)
	// A snapshot's file: summary.json, municipalities/01.json,
	// MAY-01/stations.csv.
	resultFile = regexp.MustCompile(`^[0-9A-Za-z-]{1,32}(\.[a-z]{1,8})?(/[0-9A-Za-z-]{1,32}(\.[a-z]{1,8})?){0,2}$`)
	pageAsset  = regexp.MustCompile(`^[0-9a-z-]{1,64}\.[0-9a-z]{1,8}$`)
)

// paramRules check every path parameter before a handler runs.
var paramRules = map[string]struct {
	re   *regexp.Regexp
	want string
}{
	"digest": {hex64, "the SHA-256 digest of an envelope: 64 lowercase hexadecimal characters"},
	"sha256": {hex64, "the SHA-256 of a file: 64 lowercase hexadecimal characters"},
	"code":   {unitCode, "a code of 1 to 32 characters 0-9, A-Z and -"},
	"number": {number, "a snapshot number: 1 or more, in decimal"},
	"file":   {resultFile, "a file of a snapshot, such as summary.json or municipalities/01.json"},
	"asset":  {pageAsset, "a file of the results page, such as app.js"},
}

func (rt *route) compile() error {
	for _, m := range wildcard.FindAllStringSubmatch(rt.Path, -1) {
		if _, ok := paramRules[m[1]]; !ok {
			return fmt.Errorf("server: route %s: no rule for the parameter %q", rt.pattern(), m[1])
		}
		rt.params = append(rt.params, m[1])
	}
	return nil
}

// wrap puts a route's handler behind the checks every route shares: its
// path parameters, the client address's rate, and its authentication.
func (s *Server) wrap(rt *route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rec, ok := w.(*recorder); ok && rt.public {
			rec.public = true
		}
		for _, name := range rt.params {
			if v := r.PathValue(name); !paramRules[name].re.MatchString(v) {
				s.writeError(w, badRequest("the path's %s is not %s", name, paramRules[name].want))
				return
			}
		}
		if rt.limited {
			if ok, wait := s.addrs.allow(s.cfg.ClientAddr(r)); !ok {
				s.writeError(w, rateLimited(wait, "too many requests from this address"))
				return
			}
		}
		if rt.public {
			if ok, wait := s.public.allow(s.cfg.ClientAddr(r)); !ok {
				s.writeError(w, rateLimited(wait, "too many requests for results from this address"))
				return
			}
		}
		switch rt.Auth {
		case AuthStation, AuthSupervisor, AuthStationOrSupervisor:
			id, err := s.authenticate(r)
			if err != nil {
				s.writeError(w, err)
				return
			}
			switch {
			case rt.Auth == AuthStation && id.Role != enrollment.RoleStation:
				s.writeError(w, forbidden("only a station may do this, not a %s", id.Role))
				return
			case rt.Auth == AuthSupervisor && id.Role != enrollment.RoleSupervisor:
				s.writeError(w, forbidden("only a supervisor may read this, not a %s", id.Role))
				return
			}
			if ok, wait := s.keys.allow(id.KeyID); !ok {
				s.writeError(w, rateLimited(wait, "too many requests with this key"))
				return
			}
			r = r.WithContext(withIdentity(r.Context(), id))
			if rec, ok := w.(*recorder); ok {
				rec.keyID = id.KeyID
			}
		}
		if err := rt.handle(w, r); err != nil {
			s.writeError(w, err)
		}
	})
}
