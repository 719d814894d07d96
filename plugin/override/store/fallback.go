package store

import (
	"context"
	"errors"
)

// Config says which store a table keeps its overrides in, and what the Corefile adds.
type Config struct {
	Path         string      // absolute path of the file store
	Etcd         *EtcdConfig // the shared store in etcd instead of the file, when set
	MaxOverrides int         // 0: defaultMaxOverrides
	Declared     []Override  // seeded into the store unless it holds them
}

// Open opens the table of cfg's store and seeds the overrides the Corefile declares. A
// shared store that cannot be reached at start is not an error: a replica that refused to
// start until etcd answers would turn an etcd outage into a DNS outage (and a crash loop).
// It serves the declared overrides instead, and seeds them in the background once etcd
// answers. A store that answers with something wrong is still an error.
func Open(ctx context.Context, cfg Config) (*Table, error) {
	key := cfg.Path
	newStore := func() (backend, auditTrail) {
		return newFileStore(cfg.Path), &auditLog{path: cfg.Path + ".audit.jsonl"}
	}
	if cfg.Etcd != nil {
		s := newEtcdStore(*cfg.Etcd)
		key = s.String()
		newStore = func() (backend, auditTrail) { return s, &etcdAudit{store: s} }
	}
	tab, unreached, err := tables.open(ctx, key, newStore)
	if err != nil {
		return nil, err
	}
	tab.setLimit(cfg.MaxOverrides)
	if unreached != nil {
		log.Warningf("%v; serving the overrides declared in the Corefile and retrying in the background", unreached)
		tab.fallback(cfg.Declared)
		tab.seedLater(cfg.Declared)
		return tab, nil
	}
	err = tab.seed(ctx, cfg.Declared)
	if errors.Is(err, ErrUnavailable) {
		tab.seedLater(cfg.Declared)
		return tab, nil
	}
	if err != nil {
		return nil, err
	}
	return tab, nil
}

// fallback serves decls (those declared "on" enabled) until the store's own state arrives,
// which replaces it whatever its revision.
func (t *Table) fallback(decls []Override) {
	d := delta{full: true, ordered: true}
	for _, o := range decls {
		// Not stored (see change.stored). A revision of 1 would be equivalent: no key etcd holds
		// has it, so a change that took it for stored fails its compare and reads it as missing.
		d.puts = append(d.puts, record{o: o.clone(), modRev: -1})
	}
	t.publish(d)
}

// seedLater keeps decls for seedPending, which the reaper calls every tick.
func (t *Table) seedLater(decls []Override) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending = decls
	t.pendGen++ // (--: a different generation all the same, an equivalent mutant)
}

// seedPending seeds the overrides that could not be seeded at start, once the store answers.
func (t *Table) seedPending(ctx context.Context) {
	t.mu.Lock()
	decls, gen := t.pending, t.pendGen
	t.mu.Unlock()
	if len(decls) == 0 {
		return
	}
	if err := t.seed(ctx, decls); err != nil {
		if !errors.Is(err, ErrUnavailable) {
			log.Errorf("seeding the declared overrides into %s: %v", t.store, err)
		}
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pendGen == gen { // not replaced by a reload meanwhile
		t.pending = nil
	}
}
