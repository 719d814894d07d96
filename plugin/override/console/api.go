package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/steerdns/steerdns/plugin/override/store"
	"github.com/steerdns/steerdns/plugin/override/webui"
)

// Bounds of the API's input: bodies are small, and an enable lasts between a second and 30 days.
const (
	maxBody     = 64 << 10
	minFor      = time.Second
	maxFor      = 30 * 24 * time.Hour
	maxAudit    = store.MaxAuditTail
	maxWhoLen   = 64
	defaultWho  = "api"
	headerWho   = "X-User"
	contentJSON = "application/json"
)

// newMux routes the JSON API under /api/ and the web console's page at "/".
func newMux(c *server) *http.ServeMux {
	a := &api{tab: c.tab, done: c.done, server: c}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/overrides", a.list)
	mux.HandleFunc("POST /api/overrides", jsonOnly(a.create))
	mux.HandleFunc("GET /api/overrides/{id}", a.get)
	mux.HandleFunc("PUT /api/overrides/{id}", jsonOnly(a.update))
	mux.HandleFunc("DELETE /api/overrides/{id}", jsonOnly(a.remove))
	mux.HandleFunc("POST /api/overrides/{id}/enable", jsonOnly(a.enable))
	mux.HandleFunc("POST /api/overrides/{id}/disable", jsonOnly(a.disable))
	mux.HandleFunc("GET /api/groups", a.groups)
	mux.HandleFunc("POST /api/groups/{group}/disable", jsonOnly(a.disableGroup))
	mux.HandleFunc("GET /api/audit", a.audit)
	mux.HandleFunc("GET /api/events", a.events)
	mux.HandleFunc("GET /api/export", a.export)           // export.go
	mux.HandleFunc("GET /api/explain", a.explain)         // explain.go
	mux.HandleFunc("GET /api/overrides/recent", a.recent) // explain.go
	registerDrains(mux)                                   // drainapi.go
	webui.Register(mux, c.done)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) { notRouted(mux, w, r) })
	return mux
}

// notRouted answers a request that no API route takes: 405 with the methods the path does
// take, or 404 when no method would do. (The catch-all pattern keeps the errors JSON, but it
// also hides ServeMux's own 405, so it is worked out here.)
func notRouted(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	if allow := allowed(mux, r); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, "", fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")))
		return
	}
	writeError(w, http.StatusNotFound, "", "no such endpoint: "+r.Method+" "+r.URL.Path)
}

// allowed lists the methods that some route other than the catch-all takes for r's path.
func allowed(mux *http.ServeMux, r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/api/" {
			out = append(out, m)
		}
	}
	return out
}

// jsonOnly refuses a state-changing request that does not say its body is JSON (415). A
// browser lets any page send a cross-site form post (urlencoded, multipart or text/plain)
// without asking, and some browsers omit Origin on it; only a script may send JSON, and a
// cross-site script must ask first (CORS preflight), which this server never grants.
func jsonOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != contentJSON {
			writeError(w, http.StatusUnsupportedMediaType, "", r.Method+" requests must carry Content-Type: "+contentJSON)
			return
		}
		next(w, r)
	}
}

type api struct {
	tab    Table
	done   <-chan struct{}
	server *server // the server blocks behind the console, for explain and recent
}

// view is an override as the API shows it: with whether it answers right now.
type view struct {
	store.Override
	Active bool `json:"active"`
}

type listing struct {
	Revision  uint64 `json:"revision"`
	Overrides []view `json:"overrides"`
}

// list returns the overrides, filtered by q (a case-insensitive substring of id, name, group
// or note), group (exact) and enabled (true or false).
func (a *api) list(w http.ResponseWriter, r *http.Request) {
	st := a.tab.Current()
	q := strings.ToLower(r.URL.Query().Get("q"))
	group := r.URL.Query().Get("group")
	enabled := r.URL.Query().Get("enabled")
	if enabled != "" && enabled != "true" && enabled != "false" {
		writeError(w, http.StatusBadRequest, "enabled", "must be true or false")
		return
	}
	now := time.Now()
	out := listing{Revision: st.Revision, Overrides: []view{}}
	for _, o := range st.Overrides {
		if group != "" && o.Group != group {
			continue
		}
		if enabled != "" && strconv.FormatBool(o.Enabled) != enabled {
			continue
		}
		if q != "" && !matches(&o, q) {
			continue
		}
		out.Overrides = append(out.Overrides, view{Override: o, Active: o.Active(now)})
	}
	writeJSON(w, http.StatusOK, out)
}

func matches(o *store.Override, q string) bool {
	for _, s := range []string{o.ID, o.Name, o.Group, o.Note} {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}

func (a *api) get(w http.ResponseWriter, r *http.Request) {
	st := a.tab.Current()
	idx := st.Find(r.PathValue("id"))
	if idx < 0 {
		writeError(w, http.StatusNotFound, "id", fmt.Sprintf("no override %q", r.PathValue("id")))
		return
	}
	o := st.Overrides[idx]
	writeJSON(w, http.StatusOK, view{Override: o, Active: o.Active(time.Now())})
}

// input is what a client may set. Who changed it and when is the server's to say.
type input struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Group     string   `json:"group"`
	Addresses []string `json:"addresses"`
	CNAME     string   `json:"cname"`
	Clients   []string `json:"clients"`
	Note      string   `json:"note"`
	Enabled   *bool    `json:"enabled"`
	For       string   `json:"for"`
}

func (in *input) override() store.Override {
	return store.Override{ID: in.ID, Name: in.Name, Group: in.Group, Addresses: in.Addresses,
		CNAME: in.CNAME, Clients: in.Clients, Note: in.Note}
}

func (a *api) create(w http.ResponseWriter, r *http.Request) {
	var in input
	if !decode(w, r, &in, false) {
		return
	}
	o := in.override()
	o.Enabled = in.Enabled != nil && *in.Enabled
	if in.For != "" {
		d, err := parseFor(in.For)
		if err != nil {
			writeFail(w, err)
			return
		}
		if !o.Enabled {
			writeError(w, http.StatusBadRequest, "for", "only applies with \"enabled\": true")
			return
		}
		x := time.Now().Add(d)
		o.Expires = &x
	}
	o, err := a.tab.Create(r.Context(), who(r), o)
	if err != nil {
		writeFail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, view{Override: o, Active: o.Active(time.Now())})
}

func (a *api) update(w http.ResponseWriter, r *http.Request) {
	var in input
	if !decode(w, r, &in, false) {
		return
	}
	if in.Enabled != nil || in.For != "" {
		writeError(w, http.StatusBadRequest, "enabled", "use the enable and disable actions to switch an override")
		return
	}
	if in.ID != "" && in.ID != r.PathValue("id") {
		writeError(w, http.StatusBadRequest, "id", "differs from the id in the path")
		return
	}
	o, err := a.tab.Update(r.Context(), who(r), r.PathValue("id"), in.override())
	if err != nil {
		writeFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, view{Override: o, Active: o.Active(time.Now())})
}

func (a *api) remove(w http.ResponseWriter, r *http.Request) {
	if err := a.tab.Remove(r.Context(), who(r), r.PathValue("id")); err != nil {
		writeFail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type enableInput struct {
	For string `json:"for"`
}

// enable switches an override on (and the rest of its group off); {"for": "10m"} limits it.
func (a *api) enable(w http.ResponseWriter, r *http.Request) {
	var in enableInput
	if !decode(w, r, &in, true) {
		return
	}
	var d time.Duration
	if in.For != "" {
		var err error
		if d, err = parseFor(in.For); err != nil {
			writeFail(w, err)
			return
		}
	}
	o, err := a.tab.Enable(r.Context(), who(r), r.PathValue("id"), d)
	if err != nil {
		writeFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, view{Override: o, Active: o.Active(time.Now())})
}

func (a *api) disable(w http.ResponseWriter, r *http.Request) {
	if !decode(w, r, &struct{}{}, true) {
		return
	}
	o, err := a.tab.Disable(r.Context(), who(r), r.PathValue("id"))
	if err != nil {
		writeFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, view{Override: o, Active: false})
}

// group is a group as the console shows it: its members and which one (if any) is enabled.
type group struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
	Enabled string   `json:"enabled,omitempty"`
}

func (a *api) groups(w http.ResponseWriter, _ *http.Request) {
	st := a.tab.Current()
	out := []group{}
	at := map[string]int{}
	for _, o := range st.Overrides {
		i, ok := at[o.Group]
		if !ok {
			i = len(out)
			at[o.Group] = i
			out = append(out, group{Name: o.Group})
		}
		out[i].Members = append(out[i].Members, o.ID)
		if o.Enabled {
			out[i].Enabled = o.ID
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"revision": st.Revision, "groups": out})
}

// disableGroup returns a group's name to its normal answer, whichever override was on.
func (a *api) disableGroup(w http.ResponseWriter, r *http.Request) {
	if !decode(w, r, &struct{}{}, true) {
		return
	}
	disabled, err := a.tab.DisableGroup(r.Context(), who(r), r.PathValue("group"))
	if err != nil {
		writeFail(w, err)
		return
	}
	if disabled == nil {
		disabled = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"group": r.PathValue("group"), "disabled": disabled})
}

// audit returns the last entries of the audit trail (limit, default defaultAudit), oldest
// first. While a shared store is unreachable it answers 200 with what this replica last saw,
// "stale": true and the reason, so that the console can say the list may be out of date.
func (a *api) audit(w http.ResponseWriter, r *http.Request) {
	n := defaultAudit
	if s := r.URL.Query().Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > maxAudit {
			writeError(w, http.StatusBadRequest, "limit", fmt.Sprintf("must be a number from 1 to %d", maxAudit))
			return
		}
		n = v
	}
	page, err := a.tab.AuditTail(n)
	if err != nil {
		writeFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// defaultAudit is how many audit entries GET /api/audit returns without a limit.
const defaultAudit = 100

// events streams the table's revision as Server-Sent Events: one at once, then one per change,
// so that a console can refresh exactly when something changed.
func (a *api) events(w http.ResponseWriter, r *http.Request) {
	webui.Stream(w, r, a.done, "revision", func() (string, <-chan struct{}) {
		changed := a.tab.Wait()
		return fmt.Sprintf(`{"revision":%d}`, a.tab.Revision()), changed
	})
}

// parseFor reads an enable's duration and keeps it in range.
func parseFor(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, &store.FieldError{Field: "for", Msg: fmt.Sprintf("%q is not a duration such as 90s, 10m or 2h", s)}
	}
	if d < minFor || d > maxFor {
		return 0, &store.FieldError{Field: "for", Msg: fmt.Sprintf("%s is out of range (%s to %s)", s, minFor, maxFor)}
	}
	return d, nil
}

// who names the person behind a request for the audit log: the X-User header if given.
func who(r *http.Request) store.Actor {
	name := strings.TrimSpace(r.Header.Get(headerWho))
	if name == "" || len(name) > maxWhoLen || strings.ContainsFunc(name, isControl) {
		name = defaultWho
	}
	return store.Actor{Who: name, From: r.RemoteAddr}
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// decode reads a JSON body into v, answering 400 (naming the field where it can) when the body
// is too large, malformed, or has fields that v lacks. An empty body is allowed when optional.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusBadRequest, "body", fmt.Sprintf("too large (limit %d bytes)", maxBody))
			return false
		}
		writeError(w, http.StatusBadRequest, "body", err.Error())
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return true
		}
		writeError(w, http.StatusBadRequest, "body", "is empty; a JSON object is expected")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		field, msg := describeJSONError(err)
		writeError(w, http.StatusBadRequest, field, msg)
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "body", "holds more than one JSON value")
		return false
	}
	return true
}

func describeJSONError(err error) (field, msg string) {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return typeErr.Field, fmt.Sprintf("must be %s, not %s", typeErr.Type, typeErr.Value)
	}
	if s, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f := strings.Trim(s, `"`)
		return f, "unknown field"
	}
	return "body", "not valid JSON: " + err.Error()
}

type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// writeFail maps the table's errors to status codes.
func writeFail(w http.ResponseWriter, err error) {
	var fe *store.FieldError
	switch {
	case errors.As(err, &fe):
		writeError(w, http.StatusBadRequest, fe.Field, err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "id", err.Error())
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, "id", err.Error())
	case errors.Is(err, store.ErrLimit):
		writeError(w, http.StatusConflict, "", err.Error()+"; nothing was changed")
	case errors.Is(err, store.ErrTooLarge): // store limits: export.go
		writeError(w, http.StatusRequestEntityTooLarge, "", err.Error()+"; nothing was changed")
	case errors.Is(err, store.ErrNoSpace):
		writeError(w, http.StatusInsufficientStorage, "", err.Error()+"; nothing was changed")
	case errors.Is(err, store.ErrUnavailable):
		writeError(w, http.StatusServiceUnavailable, "", err.Error()+"; nothing was changed, try again when it is back")
	default:
		writeError(w, http.StatusInternalServerError, "", err.Error())
	}
}

func writeError(w http.ResponseWriter, status int, field, msg string) {
	writeJSON(w, status, apiError{Error: msg, Field: field})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", contentJSON)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
