package console

import (
	"encoding/json"
	"net/http"

	"github.com/steerdns/steerdns/plugin/override/store"
)

// export answers GET /api/export with the whole table in the file store's snapshot format,
// whichever store holds it: a backup an operator can read, and the way to move a table between
// stores (stop CoreDNS, put the export at a file store's PATH without PATH.log, start).
func (a *api) export(w http.ResponseWriter, _ *http.Request) {
	st := a.tab.Current()
	w.Header().Set("Content-Type", contentJSON)
	w.Header().Set("Content-Disposition", `attachment; filename="overrides.json"`)
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(store.State{Revision: st.Revision, Overrides: st.Overrides})
}
