package etcdtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// fillPrefix holds what Fill writes, apart from the keys of the tests.
const fillPrefix = "/etcdtest-fill/"

// newClient is a plain client of the server, closed when the test ends.
func (s *Server) newClient(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{s.Endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Fill writes values until etcd reaches its space quota and raises its alarm: from then on it
// refuses every write, as a full etcd in the field does. The server must be started with a
// QuotaBackendBytes of StartLimited.
func (s *Server) Fill(t testing.TB) {
	t.Helper()
	if s.limits.QuotaBackendBytes <= 0 {
		t.Fatal("etcdtest: Fill needs a server started with a QuotaBackendBytes")
	}
	size := 256 << 10
	if s.limits.MaxRequestBytes > 0 {
		size = min(size, int(s.limits.MaxRequestBytes)/2) // each value in a request etcd takes
	}
	value := strings.Repeat("f", size)
	cli := s.newClient(t)
	for written := int64(0); ; written += int64(size) {
		if written > 8*s.limits.QuotaBackendBytes {
			t.Fatalf("etcdtest: etcd took %d bytes under a quota of %d", written, s.limits.QuotaBackendBytes)
		}
		_, err := cli.Put(context.Background(), fmt.Sprintf("%s%d", fillPrefix, written), value)
		if err != nil {
			if !strings.Contains(err.Error(), "database space exceeded") {
				t.Fatalf("etcdtest: filling etcd: %v", err)
			}
			return
		}
	}
}

// Free does what an operator does first for an etcd at its quota: it deletes what Fill wrote,
// compacts and defragments. etcd keeps its alarm, and refuses writes, until DisarmAlarms.
func (s *Server) Free(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	cli := s.newClient(t)
	resp, err := cli.Delete(ctx, fillPrefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Defragment(ctx, s.Endpoint); err != nil {
		t.Fatal(err)
	}
}

// DisarmAlarms clears etcd's alarms (etcdctl alarm disarm), the operator's last step.
func (s *Server) DisarmAlarms(t testing.TB) {
	t.Helper()
	if _, err := s.newClient(t).AlarmDisarm(context.Background(), &clientv3.AlarmMember{}); err != nil {
		t.Fatal(err)
	}
}
