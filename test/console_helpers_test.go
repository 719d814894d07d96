package test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// consoleChromium is where Debian's chromium package puts the browser.
const consoleChromium = "/usr/bin/chromium"

// consoleWait bounds every wait for the page or the DNS server. Generous: chromium, the server
// and other test processes share two cores; a probe timeout of 2 s and fall 2 keep a slow probe
// from marking a healthy target down, while a stopped one (refused at once) is down in 400 ms.
const consoleWait = 30 * time.Second

// consoleSetup is a running CoreDNS with file, override (console on a free loopback port, the
// demo's four servers declared in group cats) and healthcheck probing four real web servers.
type consoleSetup struct {
	srv      *harness.Server
	web      *harness.Web
	url      string // the console, http://127.0.0.1:PORT/
	corefile string
}

func consoleStart(t *testing.T, overrideExtra string) *consoleSetup {
	t.Helper()
	dir := t.TempDir()
	zone := harness.ZoneFile(t, dir, `cats  300 IN A    127.0.0.2
cats  300 IN A    127.0.0.3
cats  300 IN A    127.0.0.4
cats  300 IN A    127.0.0.5
`)
	web := harness.StartWeb(t, "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
	port := harness.FreePort(t)
	corefile := fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    %s
    healthcheck {
        check web http port %d interval 200ms timeout 2s rise 1 fall 2 jitter 0%%
        name cats.example.test 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5
    }
    cache 30
    file %s
}`, overrideBlock(dir, port, overrideExtra), web.Port, zone)
	return &consoleSetup{srv: harness.Start(t, corefile), web: web, url: fmt.Sprintf("http://127.0.0.1:%d/", port), corefile: corefile}
}

// consoleWaitCats queries cats.example.test until the sorted A answer is want.
func consoleWaitCats(t *testing.T, s *consoleSetup, want ...string) {
	t.Helper()
	slices.Sort(want)
	var got []string
	for start := time.Now(); time.Since(start) < consoleWait; time.Sleep(20 * time.Millisecond) {
		got = harness.Addresses(s.srv.Query(t, "cats.example.test", dns.TypeA))
		slices.Sort(got)
		if slices.Equal(got, want) {
			return
		}
	}
	t.Fatalf("cats.example.test answered %v, want %v", got, want)
}

// consoleBrowser starts a headless Chromium for the test and returns its context. Without a
// Chromium the test is skipped, unless it runs under CI, where a missing browser is a failure.
func consoleBrowser(t *testing.T, width, height int) context.Context {
	t.Helper()
	if _, err := os.Stat(consoleChromium); err != nil {
		// Never a silent skip: the console would go untested. `make test` installs it first.
		t.Fatalf("the console's browser test needs chromium at %s: %v; install it with `make deps` (or apt-get install chromium)", consoleChromium, err)
	}
	// A fresh profile per browser. Not t.TempDir: Chromium's helper processes may still be
	// writing to it for a moment after the browser exits, which fails TempDir's cleanup.
	profile, err := os.MkdirTemp("", "steerdns-console-chromium")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(consoleChromium),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox, // Chromium refuses to run as root with its sandbox
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		for range 50 {
			if err = os.RemoveAll(profile); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("removing the browser profile %s: %v", profile, err)
	})
	// A script error in the page fails the test, with the page's own message.
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			t.Errorf("page script error: %s", ev.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if ev.Type != runtime.APITypeError && ev.Type != runtime.APITypeWarning {
				return
			}
			for _, arg := range ev.Args {
				t.Logf("page console.%s: %s %s", ev.Type, arg.Value, arg.Description)
			}
		}
	})
	// The first Run starts the browser; its lifetime is ctx's, not a step's timeout.
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("starting %s: %v", consoleChromium, err)
	}
	return ctx
}

// consoleDo runs browser actions with a deadline, failing the test with what was being done.
func consoleDo(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, consoleWait)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// consoleUntil evaluates a JavaScript expression in the page until it is true.
func consoleUntil(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	var ok bool
	var err error
	for start := time.Now(); time.Since(start) < consoleWait; time.Sleep(50 * time.Millisecond) {
		ok = false
		step, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = chromedp.Run(step, chromedp.Evaluate(expr, &ok))
		cancel()
		if err == nil && ok {
			return
		}
	}
	t.Fatalf("waited %s for %s (%s): last error %v", consoleWait, what, expr, err)
}

// consoleText returns the text of the first element matching sel, "" when there is none.
func consoleText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	var s string
	consoleDo(t, ctx, "reading "+sel, chromedp.Evaluate(
		fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel), &s))
	return strings.TrimSpace(s)
}

// consoleSwitch is the CSS selector of an override's switch.
func consoleSwitch(id string) string {
	return fmt.Sprintf(`[data-override=%q] .switch`, id)
}

// consoleChecked is a JavaScript expression: is the override's switch in state on?
func consoleChecked(id string, on bool) string {
	return fmt.Sprintf(`(document.querySelector(%q) || {getAttribute: () => null}).getAttribute("aria-checked") === %q`,
		consoleSwitch(id), fmt.Sprint(on))
}

// consoleVisible is a JavaScript expression: is an element matching sel shown?
func consoleVisible(sel string) string {
	return fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.getClientRects().length > 0; })()`, sel)
}

// consoleAPI sends one request to the console's API as another operator would.
func consoleAPI(t *testing.T, method, url, who, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-User", who)
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// consoleWriteScreenshot saves png as docs/NAME when STEERDNS_SCREENSHOT is set, so that the
// README's picture is made by this test and can be made again.
func consoleWriteScreenshot(t *testing.T, name string, png []byte) {
	t.Helper()
	if os.Getenv("STEERDNS_SCREENSHOT") == "" {
		return
	}
	path := filepath.Join(harness.RepoRoot(), "docs", name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// consoleIsUnauthorized reports whether GET url answers 401.
func consoleIsUnauthorized(t *testing.T, url string) bool {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode == http.StatusUnauthorized
}

// consoleAddresses returns the addresses that name answers for A, joined by commas.
func consoleAddresses(t *testing.T, s *consoleSetup, name string) string {
	t.Helper()
	return strings.Join(harness.Addresses(s.srv.Query(t, name, dns.TypeA)), ",")
}
