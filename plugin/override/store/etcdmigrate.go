package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// migrateBatch is how many keys one migration request writes: under etcd's default limit of
// 128 operations per transaction.
const migrateBatch = 100

// migrate moves a table that an older version kept as one value under PREFIX/state to one key
// per override and per group. It runs at every start and does nothing once the value is gone.
// The overrides are written first, in batches (writing one twice is harmless); the last
// transaction writes the audit entry and deletes the old value, if nobody changed it
// meanwhile, so the migration happens once and is audited once.
func (s *etcdStore) migrate(ctx context.Context) error {
	cli, err := s.conn()
	if err != nil {
		return err
	}
	st, modRev, err := s.readSingleValue(ctx, cli)
	if err != nil || st == nil {
		return err
	}
	return s.moveSingleValue(ctx, cli, st, modRev)
}

// readSingleValue returns the table kept under PREFIX/state and its mod revision, or nil if
// there is none.
func (s *etcdStore) readSingleValue(ctx context.Context, cli *clientv3.Client) (*State, int64, error) {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	resp, err := cli.Get(rctx, s.stateKey)
	cancel()
	if err != nil {
		return nil, 0, s.fail("reading", err)
	}
	if len(resp.Kvs) == 0 {
		return nil, 0, nil
	}
	kv := resp.Kvs[0]
	st, err := decodeState(kv.Value)
	if err != nil {
		err = fmt.Errorf("%w: %s: key %s at etcd revision %d: %w", errBadTable, s, s.stateKey, kv.ModRevision, err)
		s.reject(s.stateKey, kv.ModRevision, err)
		return nil, 0, err
	}
	return &st, kv.ModRevision, nil
}

// moveSingleValue writes st, read at modRev, as one key per override and per group, then
// deletes the single value, each step only if the value is still at modRev.
func (s *etcdStore) moveSingleValue(ctx context.Context, cli *clientv3.Client, st *State, modRev int64) error {
	var ops []clientv3.Op
	for _, o := range st.Overrides {
		data, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		ops = append(ops, clientv3.OpPut(s.overrideKey(o.ID), string(data)))
		if o.Enabled {
			ops = append(ops, clientv3.OpPut(s.groupKey(o.Group), o.ID))
		}
	}
	for len(ops) > 0 {
		n := min(len(ops), migrateBatch)
		if err := s.migrateOps(ctx, cli, modRev, ops[:n]); err != nil {
			return err
		}
		ops = ops[n:]
	}
	entry, err := json.Marshal(AuditEntry{Time: time.Now().UTC(), Who: "coredns", From: "coredns", Action: "migrate",
		ID: fmt.Sprintf("%d overrides from %s to one key each", len(st.Overrides), s.stateKey)})
	if err != nil {
		return err
	}
	done := []clientv3.Op{clientv3.OpPut(s.newAuditKey(), string(entry)), clientv3.OpDelete(s.stateKey)}
	if err := s.migrateOps(ctx, cli, modRev, done); err != nil {
		return err
	}
	log.Infof("%s: migrated %d overrides from %s to one key each", s, len(st.Overrides), s.stateKey)
	return nil
}

// migrateOps runs ops if the old value is still at modRev; otherwise an older replica changed
// it meanwhile, and the migration starts again at the next start.
func (s *etcdStore) migrateOps(ctx context.Context, cli *clientv3.Client, modRev int64, ops []clientv3.Op) error {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := cli.Txn(rctx).If(clientv3.Compare(clientv3.ModRevision(s.stateKey), "=", modRev)).Then(ops...).Commit()
	if err != nil {
		return s.fail("migrating", err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("%s: %s changed while it was being migrated (a replica of an older version is still running?); restart to migrate again", s, s.stateKey)
	}
	return nil
}
