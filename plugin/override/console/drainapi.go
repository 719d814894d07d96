package console

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/steerdns/steerdns/plugin/internal/healthview"
)

// The drain API takes addresses out of the answers for maintenance through the healthcheck
// plugin's health view (plugins never import each other). It sits behind the console's
// guard like every other route, and changes state only on JSON requests.
func registerDrains(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/drains", listDrains)
	mux.HandleFunc("POST /api/drains", jsonOnly(drainAddress))
	mux.HandleFunc("DELETE /api/drains/{address}", jsonOnly(undrainAddress))
}

// drainInput is what a client may send to drain an address: the address, optionally one name
// (every name by default), a duration (until undrained by default) and a note. Who drained it
// and when is the server's to say.
type drainInput struct {
	Address string `json:"address"`
	Name    string `json:"name"`
	For     string `json:"for"`
	Note    string `json:"note"`
}

// drainListing is the answer of GET /api/drains: the drains in force and the recent events.
type drainListing struct {
	Now    time.Time               `json:"now"`
	Drains []healthview.Drain      `json:"drains"`
	Audit  []healthview.DrainEvent `json:"audit"`
}

const defaultDrainAudit = 50

func listDrains(w http.ResponseWriter, r *http.Request) {
	n := defaultDrainAudit
	if s := r.URL.Query().Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > maxAudit {
			writeError(w, http.StatusBadRequest, "limit", "must be a number from 1 to "+strconv.Itoa(maxAudit))
			return
		}
		n = v
	}
	out := drainListing{Now: time.Now().UTC(), Drains: healthview.Drains(), Audit: healthview.DrainAudit(n)}
	if out.Drains == nil {
		out.Drains = []healthview.Drain{}
	}
	if out.Audit == nil {
		out.Audit = []healthview.DrainEvent{}
	}
	writeJSON(w, http.StatusOK, out)
}

func drainAddress(w http.ResponseWriter, r *http.Request) {
	var in drainInput
	if !decode(w, r, &in, false) {
		return
	}
	if in.Address == "" {
		writeError(w, http.StatusBadRequest, "address", "is required")
		return
	}
	d := healthview.Drain{Address: in.Address, Name: in.Name, Note: in.Note}
	if in.For != "" {
		dur, err := parseFor(in.For)
		if err != nil {
			writeFail(w, err)
			return
		}
		d.Until = time.Now().Add(dur).UTC()
	}
	d, err := healthview.DrainAddress(r.Context(), d, who(r).Who)
	if err != nil {
		writeDrainFail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, d)
}

// undrainAddress ends the drain of the address in the path: of every name, or with ?name= of
// that name's drain.
func undrainAddress(w http.ResponseWriter, r *http.Request) {
	if !decode(w, r, &struct{}{}, true) {
		return
	}
	if err := healthview.UndrainAddress(r.Context(), r.PathValue("address"), r.URL.Query().Get("name"), who(r).Who); err != nil {
		writeDrainFail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// writeDrainFail maps the health view's errors to status codes.
func writeDrainFail(w http.ResponseWriter, err error) {
	var fe *healthview.FieldError
	switch {
	case errors.As(err, &fe):
		writeError(w, http.StatusBadRequest, fe.Field, fe.Msg)
	case errors.Is(err, healthview.ErrNotDrained):
		writeError(w, http.StatusNotFound, "address", err.Error())
	case errors.Is(err, healthview.ErrNoDrainer), errors.Is(err, healthview.ErrTooMany):
		writeError(w, http.StatusConflict, "", err.Error())
	case errors.Is(err, healthview.ErrUnavailable):
		writeError(w, http.StatusServiceUnavailable, "", err.Error()+"; nothing was changed, try again when it is back")
	default:
		writeError(w, http.StatusInternalServerError, "", err.Error())
	}
}
