package weighted

import (
	"bytes"
	"os"
	"time"
)

// loadWeights reads the weight file (if any), merges the inline weights over it and installs
// the result. On error the weights in use stay as they are.
func (wt *Weighted) loadWeights() error {
	if wt.file == "" {
		wt.weights.Store(newTable(wt.inline))
		return nil
	}
	data, err := os.ReadFile(wt.file)
	if err != nil {
		return err
	}
	if wt.weights.Load() != nil && (bytes.Equal(data, wt.fileData) || bytes.Equal(data, wt.badData)) {
		return nil // unchanged, or the same broken content that was reported already
	}
	spec, err := parseWeightFile(wt.file, data)
	if err != nil {
		wt.badData = data
		return err
	}
	wt.badData = nil
	wt.fileData = data
	wt.weights.Store(newTable(spec.merge(wt.inline)))
	return nil
}

// OnStartup starts watching the weight file for changes. `reload 0` means never: no
// watcher starts (a ticker of 0 would panic and take the server down).
func (wt *Weighted) OnStartup() error {
	if wt.file == "" || wt.reload <= 0 {
		return nil
	}
	wt.stop = make(chan struct{})
	wt.done.Add(1)
	go wt.watch(wt.stop)
	return nil
}

// OnShutdown stops the watcher and waits for it, so nothing outlives a reload.
func (wt *Weighted) OnShutdown() error {
	if wt.stop != nil {
		close(wt.stop)
		wt.done.Wait()
		wt.stop = nil
	}
	return nil
}

// watch re-reads the weight file every reload interval. A file that became broken is
// logged with the line at fault, and the last good weights keep serving.
func (wt *Weighted) watch(stop <-chan struct{}) {
	defer wt.done.Done()
	tick := time.NewTicker(wt.reload)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			before := wt.weights.Load()
			if err := wt.loadWeights(); err != nil {
				reloads.WithLabelValues("error").Inc()
				log.Errorf("Keeping the current weights: %v", err)
				continue
			}
			if wt.weights.Load() != before {
				reloads.WithLabelValues("ok").Inc()
				log.Infof("Reloaded weight file %s", wt.file)
			}
		}
	}
}
