// Package store keeps the overrides of the override plugin: the model and its validation, the
// table that every server block and console using one store share, and the stores behind it
// (a file with an append-only log, or etcd shared by replicas), each with its audit trail.
package store

import clog "github.com/coredns/coredns/plugin/pkg/log"

// pluginName is the plugin whose state this is: metrics and log lines carry it.
const pluginName = "override"

var log = clog.NewWithPlugin(pluginName)
