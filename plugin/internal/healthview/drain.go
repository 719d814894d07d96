package healthview

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Drain takes an address out of the answers for maintenance: everywhere, or only in the
// answers for one name, until a time or until it is undrained. Its probes keep running.
type Drain struct {
	Address string    `json:"address"`        // the drained IP address, in its canonical form
	Name    string    `json:"name,omitempty"` // lower-case FQDN; empty: every name
	Until   time.Time `json:"until,omitzero"` // zero: until undrained
	Note    string    `json:"note,omitempty"`
	By      string    `json:"by"` // who drained it
	At      time.Time `json:"at"` // when
}

// Active reports whether d takes its address out of the answers at now.
func (d Drain) Active(now time.Time) bool { return d.Until.IsZero() || now.Before(d.Until) }

// Covers reports whether d applies to address in the answers for name ("" asks about every
// name: only a drain of every name covers that).
func (d Drain) Covers(address, name string) bool {
	return d.Address == address && (d.Name == "" || d.Name == name)
}

// DrainEvent is one line of the drains' audit trail.
type DrainEvent struct {
	Action string `json:"action"` // drain, undrain or expire
	Drain
}

// Bounds of a drain's input.
const (
	MaxNoteLen = 256
	MaxByLen   = 64
)

// FieldError names the input field that is wrong, so that an API can say which.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Errors of the drain entry points.
var (
	// ErrNoDrainer: no healthcheck runs in this process, so there is nothing to drain.
	ErrNoDrainer = errors.New("no healthcheck plugin runs in this server, so nothing can be drained")
	// ErrNotDrained: the address (for that name) is not drained.
	ErrNotDrained = errors.New("not drained")
	// ErrUnavailable: the shared store cannot be reached; nothing was changed.
	ErrUnavailable = errors.New("the shared health store is unavailable")
	// ErrTooMany: MaxDrains drains are in force already; nothing was changed.
	ErrTooMany = fmt.Errorf("%d drains are in force already: undrain one first", MaxDrains)
)

// MaxDrains bounds the drains in force in one store, so that a script that drains in a loop
// cannot grow every replica's memory and every snapshot without end.
const MaxDrains = 1024

// Normalize checks d and puts its address and name in canonical form. It fails with a
// *FieldError naming the bad field.
func (d *Drain) Normalize() error {
	a, err := netip.ParseAddr(strings.TrimSpace(d.Address))
	if err != nil || a.Zone() != "" {
		return &FieldError{"address", fmt.Sprintf("%q is not an IPv4 or IPv6 address", d.Address)}
	}
	d.Address = a.Unmap().String()
	if d.Name != "" {
		if _, ok := dns.IsDomainName(d.Name); !ok || strings.ContainsAny(d.Name, "/ \t") {
			return &FieldError{"name", fmt.Sprintf("%q is not a domain name", d.Name)}
		}
		d.Name = strings.ToLower(dns.Fqdn(d.Name))
	}
	if len(d.Note) > MaxNoteLen {
		return &FieldError{"note", fmt.Sprintf("is %d bytes long, at most %d are kept", len(d.Note), MaxNoteLen)}
	}
	if strings.ContainsFunc(d.Note, isControl) {
		return &FieldError{"note", "holds control characters"}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// Drainer takes drains in and keeps them: a healthcheck instance's store of drains, shared
// through etcd or local to the replica.
type Drainer interface {
	// Drain records d (normalized, with By and At set), replacing a drain of the same address
	// and name.
	Drain(ctx context.Context, d Drain) error
	// Undrain removes the drain of address for name ("" for every name), returning
	// ErrNotDrained when there is none.
	Undrain(ctx context.Context, address, name, by string) error
	// Drains returns the drains in force.
	Drains() []Drain
	// DrainAudit returns the last n events, oldest first.
	DrainAudit(n int) []DrainEvent
	// Store names where the drains are kept: Drainers of one store hold the same drains,
	// so only the first registered of them is asked.
	Store() string
}

type drainerEntry struct {
	id *registration
	d  Drainer
}

var (
	drainMu  sync.Mutex
	drainers []drainerEntry // in the order registered
)

// RegisterDrainer adds d to the entry points below and returns the function that removes it.
// One Drainer registered several times (by the server blocks that share it), or several of
// one store, are called once.
func RegisterDrainer(d Drainer) (unregister func()) {
	id := new(registration)
	drainMu.Lock()
	drainers = append(drainers, drainerEntry{id, d})
	drainMu.Unlock()
	Notify()
	var once sync.Once
	return func() {
		once.Do(func() {
			drainMu.Lock()
			drainers = slices.DeleteFunc(drainers, func(e drainerEntry) bool { return e.id == id })
			drainMu.Unlock()
			Notify()
		})
	}
}

// distinct returns the first registered Drainer of each store.
func distinct() []Drainer {
	drainMu.Lock()
	defer drainMu.Unlock()
	var out []Drainer
	seen := map[string]bool{}
	for _, e := range drainers {
		if s := e.d.Store(); !seen[s] {
			seen[s] = true
			out = append(out, e.d)
		}
	}
	return out
}

// DrainAddress normalizes d, stamps it with by and now, and hands it to every Drainer. It
// returns the drain as recorded.
func DrainAddress(ctx context.Context, d Drain, by string) (Drain, error) {
	if err := d.Normalize(); err != nil {
		return Drain{}, err
	}
	if !d.Until.IsZero() && !d.Until.After(time.Now()) {
		return Drain{}, &FieldError{"for", "the drain would end before it starts"}
	}
	d.By, d.At = by, time.Now().UTC()
	ds := distinct()
	if len(ds) == 0 {
		return Drain{}, ErrNoDrainer
	}
	for _, dr := range ds {
		if err := dr.Drain(ctx, d); err != nil {
			return Drain{}, err
		}
	}
	Notify()
	return d, nil
}

// UndrainAddress removes the drain of address for name from every Drainer that has it.
func UndrainAddress(ctx context.Context, address, name, by string) error {
	d := Drain{Address: address, Name: name}
	if err := d.Normalize(); err != nil {
		return err
	}
	ds := distinct()
	if len(ds) == 0 {
		return ErrNoDrainer
	}
	found := false
	for _, dr := range ds {
		err := dr.Undrain(ctx, d.Address, d.Name, by)
		switch {
		case err == nil:
			found = true
		case !errors.Is(err, ErrNotDrained):
			return err
		}
	}
	if !found {
		return fmt.Errorf("%s%s: %w", d.Address, forName(d.Name), ErrNotDrained)
	}
	Notify()
	return nil
}

func forName(name string) string {
	if name == "" {
		return ""
	}
	return " for " + name
}

// Drains returns the drains in force in every Drainer, each once, by address and name.
func Drains() []Drain {
	var out []Drain
	for _, dr := range distinct() {
		for _, d := range dr.Drains() {
			if !slices.ContainsFunc(out, func(o Drain) bool { return o.Address == d.Address && o.Name == d.Name }) {
				out = append(out, d)
			}
		}
	}
	slices.SortFunc(out, func(a, b Drain) int { return cmp.Or(cmp.Compare(a.Address, b.Address), cmp.Compare(a.Name, b.Name)) })
	return out
}

// DrainAudit returns the last n events of every Drainer, oldest first.
func DrainAudit(n int) []DrainEvent {
	var out []DrainEvent
	for _, dr := range distinct() {
		out = append(out, dr.DrainAudit(n)...)
	}
	slices.SortStableFunc(out, func(a, b DrainEvent) int { return a.At.Compare(b.At) })
	// Two stores (a block with etcd, one without) record the same event each.
	seen := map[string]bool{}
	out = slices.DeleteFunc(out, func(e DrainEvent) bool {
		k := fmt.Sprintf("%s|%s|%s|%s|%d", e.Action, e.Address, e.Name, e.By, e.At.UnixNano())
		dup := seen[k]
		seen[k] = true
		return dup
	})
	if len(out) > n { // (>= would cut nothing either when len(out) == n: equivalent)
		out = out[len(out)-n:]
	}
	return out
}
