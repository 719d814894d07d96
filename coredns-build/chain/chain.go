// Package chain compiles every plugin listed in plugin.cfg into the binary that imports it
// and exports their execution order. Both the coredns main package and the integration tests
// use it, so tests run exactly the chain that ships.
package chain

//go:generate go run ../gen -cfg ../plugin.cfg -out zchain.go
