package test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleBrowserDrain drives the health panel of one replica's console, of three that
// share verdicts and drains through etcd, in a real headless Chromium: the panel shows every
// replica's verdict, a drain clicked there takes the address out of the answers of all three
// replicas, and an undrain brings it back.
func TestConsoleBrowserDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the coredns binary")
	}
	// Replica a runs as a process of its own, so that its console shows its own targets,
	// not those of the replicas this test process runs too.
	_, rs := sharedStartWith(t, true)
	a, b, c := rs[0], rs[1], rs[2]
	const all, without4 = "127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5", "127.0.0.2 127.0.0.3 127.0.0.5"
	sharedAwait(t, all, rs...)
	ctx := consoleBrowser(t, 1280, 1000)

	consoleDo(t, ctx, "opening replica a's console", chromedp.Navigate(a.api+"/"))
	consoleUntil(t, ctx, "four targets, each with three replica verdicts",
		`document.querySelectorAll("#health tr[data-target]").length === 4 &&
		 [...document.querySelectorAll("#health tr[data-target]")].every(r => r.querySelectorAll(".replicas li").length === 3)`)
	consoleUntil(t, ctx, "the panel without stray text (no drain log yet)",
		`![...document.querySelector("#health").childNodes].some(n => n.nodeType === Node.TEXT_NODE)`)
	consoleDo(t, ctx, "giving a name for the audit log", chromedp.SendKeys("#who", "carol", chromedp.ByQuery))

	consoleDo(t, ctx, "clicking Drain on 127.0.0.4",
		chromedp.Click(`#health tr[data-target='127.0.0.4'] button.drain`, chromedp.ByQuery))
	consoleUntil(t, ctx, "127.0.0.4 drained in the panel",
		`document.querySelector("#health tr[data-target='127.0.0.4'] .state").textContent === "drained" &&
		 document.querySelector("#health tr[data-target='127.0.0.4'] .sub.drained").textContent.includes("by carol")`)
	sharedAwait(t, without4, rs...)

	consoleDo(t, ctx, "clicking Undrain on 127.0.0.4",
		chromedp.Click(`#health tr[data-target='127.0.0.4'] button.undrain`, chromedp.ByQuery))
	consoleUntil(t, ctx, "127.0.0.4 up again",
		`document.querySelector("#health tr[data-target='127.0.0.4'] .state").textContent === "up"`)
	sharedAwait(t, all, rs...)

	consoleDo(t, ctx, "draining 127.0.0.4 for an hour",
		chromedp.SetValue(`#health tr[data-target='127.0.0.4'] select.drain-for`, "1h", chromedp.ByQuery))
	consoleUntil(t, ctx, "127.0.0.4 drained with time left",
		`/^(59m|1h 00m)/.test(document.querySelector("#health tr[data-target='127.0.0.4'] .sub.drained [data-until]").textContent)`)
	sharedAwait(t, without4, rs...)
	consoleUntil(t, ctx, "the drain log to name carol",
		`[...document.querySelectorAll(".drain-log li")].some(li => /carol\s+drain\s+127\.0\.0\.4/.test(li.textContent))`)

	// The picture for the README: 127.0.0.4 drained for an hour, and 127.0.0.3 down for
	// replica c alone, which the others outvote.
	c.web.Stop("127.0.0.3")
	consoleUntil(t, ctx, "c's down verdict on 127.0.0.3 shown on a",
		`[...document.querySelectorAll("#health tr[data-target='127.0.0.3'] .replicas li")].some(li => li.dataset.replica === "c" && li.querySelector(".verdict").textContent === "down")`)
	if got := sharedCats(t, b); got != without4 {
		t.Errorf("replica b answers %q with one vantage point down on 127.0.0.3, want %q", got, without4)
	}
	var png []byte
	consoleDo(t, ctx, "taking a screenshot", chromedp.MouseClickXY(1, 1), chromedp.FullScreenshot(&png, 100))
	consoleWriteScreenshot(t, "console_health.png", png)
}
