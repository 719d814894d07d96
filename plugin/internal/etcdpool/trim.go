package etcdpool

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Trim deletes the oldest keys under prefix, by key order, so that at most keep remain: an
// audit trail whose keys sort by time stays bounded without a janitor. It reads the count,
// then the keys to go, and deletes them in one range.
func Trim(ctx context.Context, cli *clientv3.Client, prefix string, keep int) error {
	count, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return err
	}
	extra := count.Count - int64(keep)
	if extra <= 0 {
		return nil
	}
	old, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend), clientv3.WithLimit(extra))
	if err != nil || len(old.Kvs) == 0 {
		return err
	}
	_, err = cli.Delete(ctx, prefix, clientv3.WithRange(string(old.Kvs[len(old.Kvs)-1].Key)+"\x00"))
	return err
}
