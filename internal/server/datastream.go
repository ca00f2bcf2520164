package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/datastream"
	"github.com/dossierkast/dossierkast/internal/org"
	page "github.com/dossierkast/dossierkast/web/page/datastream"
)

// connectionTestTimeout bounds a connection test run while the administrator waits.
const connectionTestTimeout = 20 * time.Second

// refuseDatastream records a refused datastream-account action (403, or 404 for an account of
// another tenant) in its own transaction, and passes err on.
func (s *Server) refuseDatastream(r *http.Request, operation string, id *uuid.UUID, err error) error {
	code := apperr.CodeOf(err)
	if code != apperr.ENOTFOUND && code != apperr.EFORBIDDEN {
		return err
	}
	e := audit.Event{Action: audit.DatastreamAccountRefused, SubjectType: "datastream_account", SubjectID: id,
		Details: map[string]any{"operation": operation, "reason": string(code)}}
	if ae, ok := apperr.As(err); ok {
		e.Details["message"] = ae.Message
	}
	s.auditRefusal(r, e)
	return err
}

func (s *Server) listDatastreamAccounts(w http.ResponseWriter, r *http.Request) error {
	if err := access.CanManageDatastreams(mustCurrent(r).Principal); err != nil {
		return err
	}
	p := page.AccountsPage{Page: s.page(r, "datastream.title")}
	if err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		p.Accounts, err = datastream.FindAccounts(r.Context(), tx)
		return err
	}); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.Accounts(p))
}

func (s *Server) newDatastreamAccount(w http.ResponseWriter, r *http.Request) error {
	if err := access.CanManageDatastreams(mustCurrent(r).Principal); err != nil {
		return err
	}
	f := false
	in := datastream.AccountInput{Type: datastream.TypeHosted, Language: "nl", AllEmployers: true, AuthMethod: datastream.AuthPassword, Port: 22, Medical: &f}
	return s.renderDatastreamAccount(w, r, http.StatusOK, nil, in, nil, datastream.Credentials{})
}

// renderDatastreamAccount shows account a (nil: the form of a new one) with the values in,
// the errors of a refused save and the credentials made just now.
func (s *Server) renderDatastreamAccount(w http.ResponseWriter, r *http.Request, status int, a *datastream.Account,
	in datastream.AccountInput, errs map[string]string, creds datastream.Credentials) error {
	p := page.AccountPage{Account: a, Input: in, Errors: errs, Credentials: creds,
		MayMedical:  access.CanSetDatastreamMedical(mustCurrent(r).Principal) == nil,
		SFTPAddress: s.sftpAddress, SFTPFingerprint: s.sftpFingerprint}
	p.Page = s.page(r, "datastream.account.new")
	if a != nil {
		p.Page = s.page(r, "datastream.account.title", a.Name)
		var err error
		if p.Configs, err = s.accountConfigs(r, a.ID); err != nil {
			return err
		}
	}
	if err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		p.Employers, err = org.FindAllEmployers(r.Context(), tx)
		return err
	}); err != nil {
		return err
	}
	return s.render(w, r, status, page.Account(p))
}

// accountInputOf is the form of an account as it is stored.
func accountInputOf(a datastream.Account) datastream.AccountInput {
	medical := a.Medical
	recipients := ""
	for i, rc := range a.Recipients {
		if i > 0 {
			recipients += ", "
		}
		recipients += rc
	}
	return datastream.AccountInput{Name: a.Name, Type: a.Type, Language: a.Language, Recipients: recipients, Medical: &medical,
		AllEmployers: a.AllEmployers, EmployerIDs: a.EmployerIDs, AuthMethod: a.AuthMethod, PublicKey: a.PublicKey,
		Host: a.Host, Port: a.Port, RemoteUser: a.RemoteUser, BaseDir: a.BaseDir}
}

// accountInputFromForm reads the account form. The medical flag counts only when the form
// offered it (medical_field): a form without it leaves the flag as it is.
func accountInputFromForm(r *http.Request) datastream.AccountInput {
	f := newForm(r)
	in := datastream.AccountInput{Name: f.str("name"), Type: f.str("type"), Language: f.str("language"),
		Recipients: f.str("recipients"), AllEmployers: f.str("scope") != "chosen", EmployerIDs: f.uuids("employer_ids"),
		AuthMethod: f.str("auth_method"), PublicKey: f.str("public_key"), Host: f.str("host"), RemoteUser: f.str("remote_user"),
		Password: r.PostForm.Get("password"), BaseDir: f.str("base_dir")}
	if in.AllEmployers {
		in.EmployerIDs = nil
	}
	in.Port, _ = strconv.Atoi(f.str("port"))
	if f.str("medical_field") != "" {
		medical := f.str("medical") != ""
		in.Medical = &medical
	}
	return in
}

func (s *Server) createDatastreamAccount(w http.ResponseWriter, r *http.Request) error {
	if err := access.CanManageDatastreams(mustCurrent(r).Principal); err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	in := accountInputFromForm(r)
	var a datastream.Account
	var creds datastream.Credentials
	err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		a, creds, err = datastream.CreateAccount(r.Context(), tx, editor(r), s.keys, in)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderDatastreamAccount(w, r, status, nil, in, errs, creds)
	} else if err != nil {
		return s.refuseDatastream(r, "create", nil, err)
	}
	s.showOnce(r, a.ID, creds)
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/datastreams/accounts/"+a.ID.String())
}

// showOnce keeps creds in the session until the account page shows them, once. They are
// sealed there, like every stored secret, so the sessions table never holds them in plaintext.
func (s *Server) showOnce(r *http.Request, accountID uuid.UUID, creds datastream.Credentials) {
	if creds == (datastream.Credentials{}) {
		return
	}
	b, err := json.Marshal(creds)
	if err != nil {
		return
	}
	keyID, sealed := s.keys.Seal(b, accountID[:])
	s.sessions.Put(r.Context(), "datastream_credentials", keyID+":"+base64.StdEncoding.EncodeToString(sealed))
}

// shownOnce returns the credentials showOnce kept for accountID, and forgets them.
func (s *Server) shownOnce(r *http.Request, accountID uuid.UUID) datastream.Credentials {
	var creds datastream.Credentials
	keyID, b64, ok := strings.Cut(s.sessions.PopString(r.Context(), "datastream_credentials"), ":")
	if !ok {
		return creds
	}
	sealed, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return creds
	}
	plain, err := s.keys.Open(keyID, sealed, accountID[:])
	if err != nil {
		return creds // another account's, or sealed by a process with another key
	}
	_ = json.Unmarshal(plain, &creds)
	return creds
}

// findDatastreamAccount returns the account of the route's {id} for a user who may manage
// datastreams: EFORBIDDEN, ENOTFOUND (both audited).
func (s *Server) findDatastreamAccount(r *http.Request, operation string) (datastream.Account, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return datastream.Account{}, err
	}
	if err := access.CanManageDatastreams(mustCurrent(r).Principal); err != nil {
		return datastream.Account{}, s.refuseDatastream(r, operation, &id, err)
	}
	var a datastream.Account
	err = s.inTenant(r, func(tx pgx.Tx) (err error) {
		a, err = datastream.FindAccountByID(r.Context(), tx, id)
		return err
	})
	return a, err
}

func (s *Server) showDatastreamAccount(w http.ResponseWriter, r *http.Request) error {
	a, err := s.findDatastreamAccount(r, "view")
	if err != nil {
		return err
	}
	return s.renderDatastreamAccount(w, r, http.StatusOK, &a, accountInputOf(a), nil, s.shownOnce(r, a.ID))
}

func (s *Server) updateDatastreamAccount(w http.ResponseWriter, r *http.Request) error {
	before, err := s.findDatastreamAccount(r, "update")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	in := accountInputFromForm(r)
	in.Type = before.Type
	var a datastream.Account
	var creds datastream.Credentials
	err = s.inTenant(r, func(tx pgx.Tx) (err error) {
		a, creds, err = datastream.UpdateAccount(r.Context(), tx, editor(r), s.keys, before.ID, in)
		return err
	})
	if errs, status, ok := formErrors(r, err); ok {
		return s.renderDatastreamAccount(w, r, status, &before, in, errs, datastream.Credentials{})
	} else if err != nil {
		return s.refuseDatastream(r, "update", &before.ID, err)
	}
	s.showOnce(r, a.ID, creds)
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/datastreams/accounts/"+a.ID.String())
}

func (s *Server) archiveDatastreamAccount(w http.ResponseWriter, r *http.Request) error {
	a, err := s.findDatastreamAccount(r, "archive")
	if err != nil {
		return err
	}
	if err := s.inTenant(r, func(tx pgx.Tx) error {
		return datastream.ArchiveAccount(r.Context(), tx, editor(r), a.ID)
	}); err != nil {
		return s.refuseDatastream(r, "archive", &a.ID, err)
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/datastreams/accounts/"+a.ID.String())
}

// testDatastreamAccount runs a connection test of an external account while the
// administrator waits (at most connectionTestTimeout) and shows its steps on the account page.
func (s *Server) testDatastreamAccount(w http.ResponseWriter, r *http.Request) error {
	a, err := s.findDatastreamAccount(r, "test")
	if err != nil {
		return err
	}
	if a.Type != datastream.TypeExternal || a.Archived() {
		return apperr.New(apperr.EINVALID, "datastream.error.not_external")
	}
	var c datastream.ExternalConfig
	if err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		c, err = datastream.ExternalConfigOf(r.Context(), tx, s.keys, a)
		return err
	}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), connectionTestTimeout)
	defer cancel()
	result := datastream.TestConnection(ctx, c)
	if err := s.inTenant(r, func(tx pgx.Tx) error {
		return datastream.RecordTest(r.Context(), tx, editor(r), a.ID, result)
	}); err != nil {
		return s.refuseDatastream(r, "test", &a.ID, err)
	}
	return redirect(w, r, "/admin/datastreams/accounts/"+a.ID.String()+"#connection")
}

// acceptHostKey pins the host key the last test was offered, as the administrator confirmed it.
func (s *Server) acceptHostKey(w http.ResponseWriter, r *http.Request) error {
	a, err := s.findDatastreamAccount(r, "accept_host_key")
	if err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	if err := s.inTenant(r, func(tx pgx.Tx) error {
		return datastream.AcceptHostKey(r.Context(), tx, editor(r), a.ID, r.PostForm.Get("fingerprint"))
	}); err != nil {
		return s.refuseDatastream(r, "accept_host_key", &a.ID, err)
	}
	s.flash(r, "datastream.hostkey.accepted")
	return redirect(w, r, "/admin/datastreams/accounts/"+a.ID.String()+"#connection")
}

// newHostedPassword makes a new password for a hosted account and shows it once.
func (s *Server) newHostedPassword(w http.ResponseWriter, r *http.Request) error {
	a, err := s.findDatastreamAccount(r, "new_password")
	if err != nil {
		return err
	}
	var creds datastream.Credentials
	if err := s.inTenant(r, func(tx pgx.Tx) (err error) {
		creds, err = datastream.NewHostedPassword(r.Context(), tx, editor(r), a.ID)
		return err
	}); err != nil {
		return s.refuseDatastream(r, "new_password", &a.ID, err)
	}
	s.showOnce(r, a.ID, creds)
	return redirect(w, r, "/admin/datastreams/accounts/"+a.ID.String())
}

func (s *Server) blockDatastreamAccount(w http.ResponseWriter, r *http.Request) error {
	return s.setDatastreamStatus(w, r, datastream.StatusBlocked)
}

func (s *Server) unblockDatastreamAccount(w http.ResponseWriter, r *http.Request) error {
	return s.setDatastreamStatus(w, r, datastream.StatusActive)
}

func (s *Server) setDatastreamStatus(w http.ResponseWriter, r *http.Request, status string) error {
	a, err := s.findDatastreamAccount(r, "status")
	if err != nil {
		return err
	}
	if err := s.inTenant(r, func(tx pgx.Tx) error {
		return datastream.SetAccountStatus(r.Context(), tx, editor(r), a.ID, status)
	}); err != nil {
		return s.refuseDatastream(r, "status", &a.ID, err)
	}
	s.flash(r, "flash.saved")
	return redirect(w, r, "/admin/datastreams/accounts/"+a.ID.String())
}
