package healthview

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// memDrainer keeps drains of one store in memory.
type memDrainer struct {
	store  string
	drains []Drain
	events []DrainEvent
	fail   error
}

func (m *memDrainer) Drain(_ context.Context, d Drain) error {
	if m.fail != nil {
		return m.fail
	}
	m.drains = append(m.drains, d)
	m.events = append(m.events, DrainEvent{Action: "drain", Drain: d})
	return nil
}

func (m *memDrainer) Undrain(_ context.Context, address, name, by string) error {
	for i, d := range m.drains {
		if d.Address == address && d.Name == name {
			m.drains = append(m.drains[:i], m.drains[i+1:]...)
			d.By, d.At = by, d.At.Add(time.Second) // the same in every store, as one undrain is
			m.events = append(m.events, DrainEvent{Action: "undrain", Drain: d})
			return nil
		}
	}
	return ErrNotDrained
}

func (m *memDrainer) Drains() []Drain               { return m.drains }
func (m *memDrainer) DrainAudit(n int) []DrainEvent { return m.events[max(0, len(m.events)-n):] }
func (m *memDrainer) Store() string                 { return m.store }

func TestDrainEntryPoints(t *testing.T) {
	if _, err := DrainAddress(context.Background(), Drain{Address: "127.0.0.2"}, "x"); !errors.Is(err, ErrNoDrainer) {
		t.Fatalf("with nothing registered: %v, want ErrNoDrainer", err)
	}
	a, a2, b := &memDrainer{store: "a"}, &memDrainer{store: "a"}, &memDrainer{store: "b"}
	for _, d := range []*memDrainer{a, a2, b} {
		defer RegisterDrainer(d)()
	}
	_, ch := Changed()
	d, err := DrainAddress(context.Background(), Drain{Address: "::ffff:127.0.0.2", Name: "Cats.Example.Test", Note: "n"}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	default:
		t.Error("a drain did not notify the viewers")
	}
	if d.Address != "127.0.0.2" || d.Name != "cats.example.test." || d.By != "alice" || time.Since(d.At) > time.Minute {
		t.Errorf("recorded %+v", d)
	}
	if len(a.drains) != 1 || len(a2.drains) != 0 || len(b.drains) != 1 {
		t.Errorf("drains per drainer: a %d, a2 (same store as a) %d, b %d; want 1, 0, 1", len(a.drains), len(a2.drains), len(b.drains))
	}
	if ds := Drains(); len(ds) != 1 || ds[0] != d {
		t.Errorf("Drains() = %+v, want the one drain once", ds)
	}
	if err := UndrainAddress(context.Background(), "127.0.0.2", "", "bob"); !errors.Is(err, ErrNotDrained) {
		t.Errorf("undrain for every name of a drain for one: %v", err)
	}
	if err := UndrainAddress(context.Background(), "127.0.0.2", "cats.example.test", "bob"); err != nil {
		t.Fatal(err)
	}
	if ev := DrainAudit(10); len(ev) != 2 || ev[1].Action != "undrain" || ev[1].By != "bob" {
		t.Errorf("audit %+v, want drain then undrain, each once", ev)
	}
	if ev := DrainAudit(1); len(ev) != 1 || ev[0].Action != "undrain" {
		t.Errorf("last audit entry %+v", ev)
	}
	if err := UndrainAddress(context.Background(), "nonsense", "", "bob"); err == nil {
		t.Error("undrain of a bad address accepted")
	}
	b.fail = ErrUnavailable
	if _, err := DrainAddress(context.Background(), Drain{Address: "127.0.0.3"}, "x"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("a failing store: %v", err)
	}
}

func TestDrainNormalize(t *testing.T) {
	good := []Drain{{Address: " 10.0.0.1 "}, {Address: "2001:db8::1", Name: "x.example"}, {Address: "10.0.0.1", Note: "ünïcode is fine"}}
	for _, d := range good {
		if err := d.Normalize(); err != nil {
			t.Errorf("%+v: %v", d, err)
		}
	}
	bad := map[string]Drain{
		"address": {Address: ""},
		"name":    {Address: "10.0.0.1", Name: "a..b"},
		"note":    {Address: "10.0.0.1", Note: "line\nbreak"},
	}
	for field, d := range bad {
		var fe *FieldError
		if err := d.Normalize(); !errors.As(err, &fe) || fe.Field != field || fe.Error() == "" {
			t.Errorf("%+v: %v, want an error about %s", d, err, field)
		}
	}
}

func TestDrainActiveCovers(t *testing.T) {
	now := time.Now()
	if !(Drain{}).Active(now) || !(Drain{Until: now.Add(time.Second)}).Active(now) || (Drain{Until: now}).Active(now) {
		t.Error("Active: forever and later are active, until now is not")
	}
	all, one := Drain{Address: "10.0.0.1"}, Drain{Address: "10.0.0.1", Name: "a.example."}
	if !all.Covers("10.0.0.1", "") || !all.Covers("10.0.0.1", "a.example.") || all.Covers("10.0.0.2", "") {
		t.Error("a drain of every name covers its address for any name")
	}
	if one.Covers("10.0.0.1", "") || !one.Covers("10.0.0.1", "a.example.") || one.Covers("10.0.0.1", "b.example.") {
		t.Error("a drain of one name covers that name only")
	}
}

// TestUnregisterDrainerLeavesOthers: removing one Drainer keeps the others asked, and the
// errors name the address and the name.
func TestUnregisterDrainerLeavesOthers(t *testing.T) {
	a, b := &memDrainer{store: "a"}, &memDrainer{store: "b"}
	ua := RegisterDrainer(a)
	defer RegisterDrainer(b)()
	ua()
	ua() // twice is harmless
	if _, err := DrainAddress(context.Background(), Drain{Address: "127.0.0.2"}, "x"); err != nil {
		t.Fatal(err)
	}
	if len(a.drains) != 0 || len(b.drains) != 1 {
		t.Errorf("after a's unregister: a has %d drains, b %d; want 0 and 1", len(a.drains), len(b.drains))
	}
	err := UndrainAddress(context.Background(), "127.0.0.3", "", "x")
	if err == nil || err.Error() != "127.0.0.3: not drained" {
		t.Errorf("undrain of an address not drained: %v", err)
	}
	err = UndrainAddress(context.Background(), "127.0.0.3", "x.example", "x")
	if err == nil || err.Error() != "127.0.0.3 for x.example.: not drained" {
		t.Errorf("undrain for a name not drained: %v", err)
	}
}

func TestDrainNoteLimit(t *testing.T) {
	d := Drain{Address: "10.0.0.1", Note: strings.Repeat("n", MaxNoteLen)}
	if err := d.Normalize(); err != nil {
		t.Errorf("a note of %d bytes: %v", MaxNoteLen, err)
	}
	d.Note += "n"
	if err := d.Normalize(); err == nil {
		t.Errorf("a note of %d bytes accepted", MaxNoteLen+1)
	}
}

// TestDrainAuditMerges: the events of two stores come out in time order, the newest n.
func TestDrainAuditMerges(t *testing.T) {
	at := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	a := &memDrainer{store: "a", events: []DrainEvent{{Action: "drain", Drain: Drain{Address: "10.0.0.1", At: at}},
		{Action: "undrain", Drain: Drain{Address: "10.0.0.1", At: at.Add(2 * time.Second)}}}}
	b := &memDrainer{store: "b", events: []DrainEvent{{Action: "drain", Drain: Drain{Address: "10.0.0.2", At: at.Add(time.Second)}}}}
	defer RegisterDrainer(a)()
	defer RegisterDrainer(b)()
	var got []string
	for _, e := range DrainAudit(2) {
		got = append(got, e.Action+" "+e.Address)
	}
	if strings.Join(got, ", ") != "drain 10.0.0.2, undrain 10.0.0.1" {
		t.Errorf("the newest two of both stores: %v", got)
	}
}
