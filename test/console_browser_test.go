package test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/miekg/dns"
)

// TestConsoleBrowser drives the web console in a real headless Chromium against a real
// CoreDNS, the way an operator would, and checks every click with a real DNS query.
func TestConsoleBrowser(t *testing.T) {
	s := consoleStart(t, "")
	ctx := consoleBrowser(t, 1280, 1000)

	consoleDo(t, ctx, "opening the console", chromedp.Navigate(s.url))
	consoleUntil(t, ctx, "the four declared overrides", `document.querySelectorAll("[data-group='cats'] [data-override]").length === 4`)
	consoleUntil(t, ctx, "the event streams to connect", `document.querySelector("#live").dataset.live === "true"`)
	consoleDo(t, ctx, "giving a name for the audit log", chromedp.SendKeys("#who", "alice", chromedp.ByQuery))
	consoleWaitCats(t, s, "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")

	t.Run("search", func(t *testing.T) {
		consoleDo(t, ctx, "searching", chromedp.SendKeys("#search", "server 3", chromedp.ByQuery))
		consoleUntil(t, ctx, "only server3 to be shown",
			consoleVisible("[data-override='server3']")+" && !"+consoleVisible("[data-override='server2']"))
		consoleDo(t, ctx, "searching by address", chromedp.SendKeys("#search", strings.Repeat(kb.Backspace, 8)+"127.0.0.5", chromedp.ByQuery))
		consoleUntil(t, ctx, "only server4 to be shown",
			consoleVisible("[data-override='server4']")+" && !"+consoleVisible("[data-override='server3']"))
		consoleDo(t, ctx, "searching for nothing", chromedp.SendKeys("#search", strings.Repeat(kb.Backspace, 9)+"no-such-thing", chromedp.ByQuery))
		consoleUntil(t, ctx, "the no-match message", consoleVisible("#empty"))
		consoleDo(t, ctx, "clearing the search", chromedp.SendKeys("#search", strings.Repeat(kb.Backspace, 13), chromedp.ByQuery))
		consoleUntil(t, ctx, "all four again", `document.querySelectorAll("[data-override]").length === 4`)
	})

	t.Run("switch", func(t *testing.T) {
		consoleDo(t, ctx, "clicking server2's switch", chromedp.Click(consoleSwitch("server2"), chromedp.ByQuery))
		consoleUntil(t, ctx, "server2 on", consoleChecked("server2", true))
		consoleWaitCats(t, s, "127.0.0.3")

		consoleDo(t, ctx, "clicking server3's switch", chromedp.Click(consoleSwitch("server3"), chromedp.ByQuery))
		consoleUntil(t, ctx, "server3 on and server2 off", consoleChecked("server3", true)+" && "+consoleChecked("server2", false))
		consoleWaitCats(t, s, "127.0.0.4")
		if got := consoleText(t, ctx, "[data-group='cats'] .group-state.pinned"); got != "pinned to server3" {
			t.Errorf("group header says %q, want %q", got, "pinned to server3")
		}

		consoleDo(t, ctx, "clicking server3's switch again", chromedp.Click(consoleSwitch("server3"), chromedp.ByQuery))
		consoleUntil(t, ctx, "server3 off", consoleChecked("server3", false))
		consoleWaitCats(t, s, "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
		consoleUntil(t, ctx, "the audit log to name alice",
			`[...document.querySelectorAll("#audit li")].some(li => /alice\s+disable\s+server3/.test(li.textContent))`)
	})

	t.Run("enable for a while", func(t *testing.T) {
		consoleDo(t, ctx, "choosing 1 hour for server2",
			chromedp.SetValue(`[data-override='server2'] select.enable-for`, "1h", chromedp.ByQuery))
		consoleUntil(t, ctx, "server2 on with time left",
			consoleChecked("server2", true)+` && /^(59m|1h 00m)/.test(document.querySelector("[data-override='server2'] .until").textContent)`)
		consoleWaitCats(t, s, "127.0.0.3")
	})

	t.Run("another operator's change shows up", func(t *testing.T) {
		if code := consoleAPI(t, "POST", s.url+"api/overrides/server1/enable", "bob", ""); code != 200 {
			t.Fatalf("enable server1 through the API: status %d", code)
		}
		consoleUntil(t, ctx, "server1 on and server2 off without a reload", consoleChecked("server1", true)+" && "+consoleChecked("server2", false))
		consoleUntil(t, ctx, "bob in the audit log", `document.querySelector("#audit li").textContent.includes("bob")`)
		consoleDo(t, ctx, "going back to normal", chromedp.Click(`[data-group='cats'] .group-off`, chromedp.ByQuery))
		consoleUntil(t, ctx, "server1 off", consoleChecked("server1", false))
		consoleWaitCats(t, s, "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
	})

	t.Run("create edit delete", func(t *testing.T) {
		consoleDo(t, ctx, "filling in an invalid override",
			chromedp.Click("#new", chromedp.ByQuery),
			chromedp.SendKeys("#f-id", "canary", chromedp.ByQuery),
			chromedp.SendKeys("#f-name", "canary.example.test", chromedp.ByQuery),
			chromedp.SendKeys("#f-addresses", "127.0.0.300", chromedp.ByQuery),
			chromedp.Click("#editor-save", chromedp.ByQuery))
		consoleUntil(t, ctx, "the error next to addresses",
			`document.querySelector("[data-error-for='addresses']").textContent.includes("is not an IPv4 or IPv6 address")`)
		if consoleText(t, ctx, "[data-override='canary']") != "" {
			t.Fatal("an invalid override appeared in the list")
		}

		consoleDo(t, ctx, "correcting the address",
			chromedp.SendKeys("#f-addresses", strings.Repeat(kb.Backspace, 11)+"127.0.0.9", chromedp.ByQuery),
			chromedp.Click("#editor-save", chromedp.ByQuery))
		consoleUntil(t, ctx, "the new override", consoleVisible("[data-override='canary']")+` && document.querySelector("#editor").hidden`)

		consoleDo(t, ctx, "editing its note",
			chromedp.Click(`[data-override='canary'] .edit`, chromedp.ByQuery),
			chromedp.SendKeys("#f-note", "canary build", chromedp.ByQuery),
			chromedp.Click("#editor-save", chromedp.ByQuery))
		consoleUntil(t, ctx, "the new note", `(document.querySelector("[data-override='canary'] .note") || {}).textContent === "canary build"`)

		consoleDo(t, ctx, "enabling it", chromedp.Click(consoleSwitch("canary"), chromedp.ByQuery))
		consoleUntil(t, ctx, "canary on", consoleChecked("canary", true))
		if got := consoleAddresses(t, s, "canary.example.test"); got != "127.0.0.9" {
			t.Errorf("canary.example.test answered %q, want 127.0.0.9", got)
		}

		consoleDo(t, ctx, "deleting it with two clicks",
			chromedp.Click(`[data-override='canary'] .delete`, chromedp.ByQuery),
			chromedp.Click(`[data-override='canary'] .delete`, chromedp.ByQuery))
		consoleUntil(t, ctx, "canary gone", `!document.querySelector("[data-override='canary']")`)
		if got := consoleAddresses(t, s, "canary.example.test"); got != "" {
			t.Errorf("after delete canary.example.test answered %q, want no address", got)
		}
	})

	t.Run("health", func(t *testing.T) {
		consoleUntil(t, ctx, "four targets up",
			`document.querySelectorAll("#health tr[data-target] .state.up").length === 4`)
		s.web.Stop("127.0.0.5")
		consoleUntil(t, ctx, "127.0.0.5 down in the health panel",
			`document.querySelector("#health tr[data-target='127.0.0.5'] .state").textContent === "down"`)
		consoleUntil(t, ctx, "the transition listed",
			`document.querySelector("#health tr[data-target='127.0.0.5'] .transitions li").textContent.startsWith("down at")`)
		consoleWaitCats(t, s, "127.0.0.2", "127.0.0.3", "127.0.0.4")
	})

	t.Run("reload", func(t *testing.T) {
		// A reload closes the console's listener and opens it again: the page reconnects by
		// itself and keeps working, without the operator reloading it.
		if err := s.srv.Reload(s.corefile); err != nil {
			t.Fatal(err)
		}
		consoleUntil(t, ctx, "the event streams to reconnect", `document.querySelector("#live").dataset.live === "true"`)
		if code := consoleAPI(t, "POST", s.url+"api/overrides/server4/enable", "bob", ""); code != 200 {
			t.Fatalf("enable server4 through the API: status %d", code)
		}
		consoleUntil(t, ctx, "server4 on without a reload of the page", consoleChecked("server4", true))
		consoleDo(t, ctx, "clicking server4's switch", chromedp.Click(consoleSwitch("server4"), chromedp.ByQuery))
		consoleUntil(t, ctx, "server4 off", consoleChecked("server4", false))
		consoleWaitCats(t, s, "127.0.0.2", "127.0.0.3", "127.0.0.4")
	})

	t.Run("try a name", func(t *testing.T) {
		// Server 4 is down: the explanation shows its address struck out by healthcheck, and
		// the answer without it.
		consoleDo(t, ctx, "asking why cats.example.test answers as it does",
			chromedp.SendKeys("#x-name", "cats.example.test", chromedp.ByQuery),
			chromedp.SendKeys("#x-client", "192.0.2.7", chromedp.ByQuery),
			chromedp.Click("#x-go", chromedp.ByQuery))
		consoleUntil(t, ctx, "the explanation", `!!document.querySelector("#x-steps li[data-plugin='healthcheck']")`)
		if got := consoleText(t, ctx, "#x-steps li[data-plugin='healthcheck'] .x-addr[data-kept='false']"); got != "127.0.0.5 down" {
			t.Errorf("struck-out address %q, want %q", got, "127.0.0.5 down")
		}
		if got := consoleText(t, ctx, "#x-answer"); strings.Contains(got, "127.0.0.5") || !strings.Contains(got, "127.0.0.2") {
			t.Errorf("explained answer %q, want the live servers only", got)
		}
		consoleDo(t, ctx, "asking for a name no server block serves",
			chromedp.SetValue("#x-name", "cats.example.org", chromedp.ByQuery), chromedp.Click("#x-go", chromedp.ByQuery))
		consoleUntil(t, ctx, "the error", `/no server block/.test(document.querySelector("#explain").textContent)`)
		consoleDo(t, ctx, "asking again",
			chromedp.SetValue("#x-name", "cats.example.test", chromedp.ByQuery), chromedp.Click("#x-go", chromedp.ByQuery))
		consoleUntil(t, ctx, "the explanation again", `!!document.querySelector("#x-steps li[data-plugin='healthcheck']")`)
	})

	// The picture for the README: server2 pinned for an hour, server 4 down, an explanation,
	// and server2's answers plotted.
	consoleDo(t, ctx, "pinning server2 for the screenshot",
		chromedp.SetValue(`[data-override='server2'] select.enable-for`, "1h", chromedp.ByQuery))
	consoleUntil(t, ctx, "server2 on", consoleChecked("server2", true))
	consoleWaitCats(t, s, "127.0.0.3")
	for range 20 {
		s.srv.Query(t, "cats.example.test.", dns.TypeA)
	}
	// The health panel plots each target's last probes: server 4's strip ends down, the others'
	// are up, and each has a latency line.
	consoleUntil(t, ctx, "the probe plots",
		`(() => { const row = (a) => [...document.querySelectorAll("#health tr[data-target]")].find((r) => r.dataset.target === a);
		  const down = row("127.0.0.5"), up = row("127.0.0.2");
		  return !!down && !!up && down.querySelector("svg.timeline rect:last-of-type").classList.contains("down") &&
		    up.querySelector("svg.timeline rect:last-of-type").classList.contains("up") &&
		    Number(up.querySelector("svg.timeline").dataset.points) > 3 && !!up.querySelector("svg.latency-plot polyline"); })()`)
	consoleUntil(t, ctx, "server2's answers plotted",
		`(() => { const g = document.querySelector("svg[data-recent='server2']"); return !!g && Number(g.dataset.total) >= 20 && g.querySelectorAll("rect:not(.zero)").length > 0; })()`)
	var png []byte
	consoleDo(t, ctx, "taking a screenshot",
		chromedp.MouseClickXY(1, 1), // off any button, so that none shows its hover border
		chromedp.FullScreenshot(&png, 100))
	consoleWriteScreenshot(t, "console.png", png)
}

// TestConsoleBrowserPhone checks that the page fits a phone's width: nothing scrolls sideways.
func TestConsoleBrowserPhone(t *testing.T) {
	s := consoleStart(t, "")
	ctx := consoleBrowser(t, 390, 844)
	consoleDo(t, ctx, "opening the console", chromedp.Navigate(s.url))
	consoleUntil(t, ctx, "the overrides", `document.querySelectorAll("[data-override]").length === 4`)
	consoleUntil(t, ctx, "the health table", `document.querySelectorAll("#health tr[data-target]").length === 4`)
	var width, scroll int
	consoleDo(t, ctx, "measuring", chromedp.Evaluate(`window.innerWidth`, &width),
		chromedp.Evaluate(`document.documentElement.scrollWidth`, &scroll))
	if scroll > width {
		t.Errorf("page is %dpx wide in a %dpx window: it scrolls sideways on a phone", scroll, width)
	}
	consoleDo(t, ctx, "clicking server2's switch", chromedp.Click(consoleSwitch("server2"), chromedp.ByQuery))
	consoleUntil(t, ctx, "server2 on", consoleChecked("server2", true))
	consoleWaitCats(t, s, "127.0.0.3")
	var png []byte
	consoleDo(t, ctx, "taking a screenshot", chromedp.MouseClickXY(1, 1), chromedp.FullScreenshot(&png, 100))
	consoleWriteScreenshot(t, "console_phone.png", png)
}

// TestConsoleBrowserToken checks that with a token the page asks for it, refuses a wrong one,
// and works with the right one.
func TestConsoleBrowserToken(t *testing.T) {
	s := consoleStart(t, "token s3cret-token")
	if consoleIsUnauthorized(t, s.url) {
		t.Fatal("the page itself demands the token, so a browser cannot load it")
	}
	if !consoleIsUnauthorized(t, s.url+"api/overrides") {
		t.Fatal("the API answers without the token")
	}
	ctx := consoleBrowser(t, 1280, 900)
	consoleDo(t, ctx, "opening the console", chromedp.Navigate(s.url))
	consoleUntil(t, ctx, "the token form", consoleVisible("#login")+" && !"+consoleVisible("#app"))

	consoleDo(t, ctx, "giving a wrong token",
		chromedp.SendKeys("#token", "wrong"+kb.Enter, chromedp.ByQuery))
	consoleUntil(t, ctx, "the refusal", `document.querySelector("#login-error").textContent.includes("refused")`)

	consoleDo(t, ctx, "giving the token",
		chromedp.SendKeys("#token", "s3cret-token", chromedp.ByQuery), chromedp.Click("#login-form button", chromedp.ByQuery))
	consoleUntil(t, ctx, "the overrides", `document.querySelectorAll("[data-override]").length === 4`)
	consoleUntil(t, ctx, "the event streams to connect", `document.querySelector("#live").dataset.live === "true"`)
	consoleDo(t, ctx, "clicking server2's switch", chromedp.Click(consoleSwitch("server2"), chromedp.ByQuery))
	consoleUntil(t, ctx, "server2 on", consoleChecked("server2", true))
	consoleWaitCats(t, s, "127.0.0.3")

	var stored, local string
	consoleDo(t, ctx, "looking where the token is kept",
		chromedp.Evaluate(`sessionStorage.getItem("steerdns.token") || ""`, &stored),
		chromedp.Evaluate(`JSON.stringify(localStorage)`, &local))
	if stored != "s3cret-token" || strings.Contains(local, "s3cret") {
		t.Errorf("token in sessionStorage %q, localStorage %s: want it in the tab's sessionStorage only", stored, local)
	}
}
