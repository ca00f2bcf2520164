package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dossierkast/dossierkast/internal/datastream/sshdtest"
)

// TestBrowserExternalAccount clicks through an external SFTP account against a real OpenSSH
// sshd: create it, test the connection, confirm the fingerprint shown, test again (every step
// passes), open the folder and download a file from it.
func TestBrowserExternalAccount(t *testing.T) {
	t.Parallel()
	execPath := chromiumPath(t)
	srv := sshdtest.Start(t)
	const content = "id,naam\n1,Jansen\n"
	if err := os.WriteFile(srv.Path("/data/rapport.csv"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ssh-keygen", "-l", "-f", "-")
	cmd.Stdin = strings.NewReader(srv.HostKey + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	fingerprint := strings.Fields(string(out))[1]
	browserTurn(t)
	b := setup(t, 5)

	ctx, cancel := context.WithTimeout(t.Context(), browserFlowTimeout)
	defer cancel()
	br := startBrowser(t, ctx, execPath)
	defer br.close()

	br.step("log in", logIn(b.srv.URL, adminEmail)...)
	br.step("create the account",
		chromedp.Navigate(b.srv.URL+"/admin/datastreams"),
		afterLoad(chromedp.Click(chromedp.ID("new-account"))),
		chromedp.WaitVisible(chromedp.ID("f-name")),
		chromedp.SendKeys(chromedp.ID("f-name"), "BI-server"),
		chromedp.SetValue(chromedp.ID("f-type"), "external"),
		chromedp.SendKeys(chromedp.ID("f-host"), srv.Host),
		chromedp.SetValue(chromedp.ID("f-port"), strconv.Itoa(srv.Port)),
		chromedp.SendKeys(chromedp.ID("f-remote_user"), srv.User),
		chromedp.SendKeys(chromedp.ID("f-password"), srv.Password),
		chromedp.SendKeys(chromedp.ID("f-base_dir"), "/data"),
		afterLoad(chromedp.Click(chromedp.ID("save"))),
		chromedp.WaitVisible(chromedp.ID("test-connection")),
	)
	var offered string
	br.step("test the connection and see the fingerprint",
		afterLoad(chromedp.Click(chromedp.ID("test-connection"))),
		chromedp.WaitVisible(chromedp.ID("offered-fingerprint")),
		into(&offered, chromedp.Text(chromedp.ID("offered-fingerprint"))),
		check(func() error {
			if offered != fingerprint {
				return fmt.Errorf("page shows %q, ssh-keygen says %q", offered, fingerprint)
			}
			return nil
		}),
	)
	var pinned string
	var failed, steps int
	br.step("confirm the fingerprint and test again",
		afterLoad(chromedp.Click(chromedp.ID("accept-key"))),
		chromedp.WaitVisible(chromedp.ID("pinned-fingerprint")),
		into(&pinned, chromedp.Text(chromedp.ID("pinned-fingerprint"))),
		afterLoad(chromedp.Click(chromedp.ID("test-connection"))),
		chromedp.WaitVisible(chromedp.ID("test-steps")),
		into(&steps, chromedp.Evaluate[int](`document.querySelectorAll("#test-steps li").length`)),
		into(&failed, chromedp.Evaluate[int](`document.querySelectorAll("#test-steps li.error").length`)),
		check(func() error {
			if pinned != fingerprint || steps != 5 || failed != 0 {
				return fmt.Errorf("pinned %q (want %q), %d steps of which %d failed; want 5 passing", pinned, fingerprint, steps, failed)
			}
			return nil
		}),
	)
	var got string
	br.step("open the folder and download a file",
		afterLoad(chromedp.Click(chromedp.ID("open-folder"))),
		chromedp.WaitVisible(chromedp.CSS(`#files a.file`)),
		into(&got, chromedp.Evaluate[string](`(async () => {
			const link = [...document.querySelectorAll("#files a.file")].find(a => a.textContent === "rapport.csv");
			const resp = await fetch(link.href, {credentials: "same-origin"});
			if (!resp.ok) { throw new Error("status " + resp.status); }
			return await resp.text();
		})()`, chromedp.EvalAwaitPromise)),
		check(func() error {
			if got != content {
				return fmt.Errorf("downloaded %q, want %q", got, content)
			}
			return nil
		}),
	)
}
