package server

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/datastream/delivery"
	page "github.com/dossierkast/dossierkast/web/page/datastream"
)

// accountTransport connects to account a's folder for browsing: the hosted folder, or the
// external server with its pinned host key. EINVALID for an archived account.
func (s *Server) accountTransport(ctx context.Context, r *http.Request, a datastream.Account) (datastream.Transport, error) {
	if a.Archived() {
		return nil, apperr.New(apperr.EINVALID, "datastream.error.archived")
	}
	if a.Type == datastream.TypeHosted {
		return datastream.NewFolder(s.pool, s.blobs, mustCurrent(r).Tenant.ID, a.ID), nil
	}
	var c datastream.ExternalConfig
	if err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		c, err = datastream.ExternalConfigOf(r.Context(), tx, s.keys, a)
		return err
	}); err != nil {
		return nil, err
	}
	return datastream.DialExternal(ctx, c)
}

// folderPath reads the path asked in the query: relative to the account's folder, never above
// it ("" is its top).
func folderPath(r *http.Request) string {
	return strings.TrimPrefix(path.Clean("/"+r.URL.Query().Get("path")), "/")
}

// describeStepError turns a transport failure into the message the folder page shows.
func describeStepError(err error) (string, string) {
	var mm *datastream.HostKeyMismatchError
	if errors.As(err, &mm) {
		return "datastream.files.host_key_mismatch", mm.Pinned + " → " + mm.Presented
	}
	var se *datastream.StepError
	if errors.As(err, &se) {
		return "datastream.files.failed." + se.Step, err.Error()
	}
	return "datastream.files.failed.list", err.Error()
}

// showDatastreamFiles lists a folder of an account ("open folder"), hosted or external.
func (s *Server) showDatastreamFiles(w http.ResponseWriter, r *http.Request) error {
	a, err := s.findDatastreamAccount(r, "files")
	if err != nil {
		return err
	}
	return s.showFolder(w, r, a, nil)
}

// showDatastreamConfigFiles lists the folder of one configuration within its account's folder
// ("open folder" on the configuration's page): its deliveries, one folder each.
func (s *Server) showDatastreamConfigFiles(w http.ResponseWriter, r *http.Request) error {
	a, c, err := s.findDatastreamConfig(r, "config.files")
	if err != nil {
		return err
	}
	return s.showFolder(w, r, a, &c)
}

// showFolder lists the folder asked (folderPath) of account a, or of configuration c within it
// when c is set. A configuration's folder that no delivery has made yet is shown empty.
func (s *Server) showFolder(w http.ResponseWriter, r *http.Request, a datastream.Account, c *delivery.Config) error {
	p := page.FilesPage{Account: a, Config: c, Dir: folderPath(r)}
	p.Page = s.page(r, "datastream.files.title", a.Name)
	if c != nil {
		p.Page = s.page(r, "datastream.files.title", c.Name)
	}
	ctx, cancel := context.WithTimeout(r.Context(), connectionTestTimeout)
	defer cancel()
	tr, err := s.accountTransport(ctx, r, a)
	if _, isApp := apperr.As(err); isApp {
		return err
	}
	if err == nil {
		defer tr.Close()
		p.Entries, err = tr.List(ctx, folderIn(c, p.Dir))
	}
	status := http.StatusOK
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) && c != nil && p.Dir == "":
		err = nil
	case errors.Is(err, fs.ErrNotExist):
		return apperr.New(apperr.ENOTFOUND, "error.not_found")
	default:
		logger(r).Warn("open datastream folder", "account_id", a.ID, "err", err)
		p.Error, p.ErrorDetail = describeStepError(err)
		status = http.StatusBadGateway
	}
	return s.render(w, r, status, page.Files(p))
}

// folderIn is dir (as folderPath reads it: never above the top) within configuration c's
// folder, or within the account's when c is nil.
func folderIn(c *delivery.Config, dir string) string {
	if c == nil {
		return dir
	}
	return path.Join(c.Folder, dir)
}

// downloadDatastreamFile streams one file of an account's folder.
func (s *Server) downloadDatastreamFile(w http.ResponseWriter, r *http.Request) error {
	a, err := s.findDatastreamAccount(r, "download")
	if err != nil {
		return err
	}
	return s.downloadFolderFile(w, r, a, nil)
}

// downloadDatastreamConfigFile streams one file of a configuration's folder.
func (s *Server) downloadDatastreamConfigFile(w http.ResponseWriter, r *http.Request) error {
	a, c, err := s.findDatastreamConfig(r, "config.download")
	if err != nil {
		return err
	}
	return s.downloadFolderFile(w, r, a, &c)
}

// downloadFolderFile streams the file asked (folderPath) of account a, or of configuration c's
// folder when c is set, audited (datastream_file.downloaded, with its path from the top of the
// account; subject the configuration or the account) before the first byte goes out.
func (s *Server) downloadFolderFile(w http.ResponseWriter, r *http.Request, a datastream.Account, c *delivery.Config) error {
	rel := folderPath(r)
	if rel == "" {
		return apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	name := folderIn(c, rel)
	tr, err := s.accountTransport(r.Context(), r, a)
	if err != nil {
		if _, isApp := apperr.As(err); isApp {
			return err
		}
		logger(r).Warn("download datastream file", "account_id", a.ID, "err", err)
		return apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	defer tr.Close()
	rc, err := tr.Open(r.Context(), name)
	if err != nil {
		return apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	defer rc.Close()
	ev := audit.Event{Action: audit.DatastreamFileDownloaded, SubjectType: "datastream_account", SubjectID: &a.ID,
		Details: map[string]any{"path": name}}
	if c != nil {
		ev.SubjectType, ev.SubjectID = "datastream_config", &c.ID
	}
	if err := s.inTenant(r, func(tx pgx.Tx) error { return audit.Write(r.Context(), tx, actor(r), ev) }); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", attachment(path.Base(name)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		logger(r).Warn("download datastream file", "account_id", a.ID, "path", name, "err", err)
	}
	return nil
}
