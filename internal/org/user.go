package org

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/dossierkast/dossierkast/internal/access"
	"github.com/dossierkast/dossierkast/internal/apperr"
	"github.com/dossierkast/dossierkast/internal/audit"
	"github.com/dossierkast/dossierkast/internal/database"
)

// User statuses.
const (
	StatusActive  = "active"
	StatusBlocked = "blocked"
)

// Languages a user can choose for the interface.
var Languages = []string{"nl", "en"}

// User is a person who logs in. Employer users belong to one or more employers, coach users to
// one intervention provider.
type User struct {
	ID           uuid.UUID
	Email        string
	Name         string
	Kind         access.Kind
	RoleID       uuid.UUID
	RoleName     string
	Rights       []access.Right
	ProviderID   *uuid.UUID
	ProviderName string
	Status       string
	Language     string
	EmployerIDs  []uuid.UUID
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Principal returns the facts the access engine decides on.
func (u User) Principal(tenantID uuid.UUID) access.Principal {
	p := access.Principal{TenantID: tenantID, UserID: u.ID, Kind: u.Kind, Rights: u.Rights, Employers: u.EmployerIDs}
	if u.ProviderID != nil {
		p.ProviderID = *u.ProviderID
	}
	return p
}

const userColumns = `u.id, u.email, u.name, u.kind, u.role_id, ro.name, ro.rights, u.provider_id,
	coalesce(ip.name, ''), u.status, u.language,
	coalesce((SELECT array_agg(ue.employer_id ORDER BY ue.employer_id) FROM user_employers ue WHERE ue.user_id = u.id), '{}'),
	u.created_at, u.updated_at`

const userFrom = ` FROM users u JOIN roles ro ON ro.id = u.role_id
	LEFT JOIN intervention_providers ip ON ip.id = u.provider_id `

// UserFilter selects a page of users.
type UserFilter struct {
	Query  string
	Offset int
	Limit  int
}

// FindUsers returns a page of the tenant's users by name and the total that match.
func FindUsers(ctx context.Context, tx pgx.Tx, f UserFilter) ([]User, int, error) {
	where, args := "", []any{}
	if q := strings.TrimSpace(f.Query); q != "" {
		args = append(args, "%"+escapeLike(strings.ToLower(q))+"%")
		where = " WHERE lower(u.name || ' ' || u.email) LIKE $1"
	}
	var total int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM users u"+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	args = append(args, f.Limit, max(f.Offset, 0))
	list, err := database.FindAll[User](ctx, tx, "users", "SELECT "+userColumns+userFrom+where+
		fmt.Sprintf(" ORDER BY lower(u.name), u.id LIMIT $%d OFFSET $%d", len(args)-1, len(args)), args...)
	return list, total, err
}

// FindUserByID returns one user of the tenant, or ENOTFOUND.
func FindUserByID(ctx context.Context, tx pgx.Tx, id uuid.UUID) (User, error) {
	return database.FindOne[User](ctx, tx, "user", "SELECT "+userColumns+userFrom+" WHERE u.id = $1", id)
}

// UserInput is what an administrator sets on a user.
type UserInput struct {
	Email       string
	Name        string
	Kind        access.Kind
	RoleID      uuid.UUID
	ProviderID  *uuid.UUID
	EmployerIDs []uuid.UUID
	Language    string
}

// validate checks the input against the tenant's roles, providers and employers.
func (in *UserInput) validate(ctx context.Context, tx pgx.Tx) error {
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	in.Name = strings.TrimSpace(in.Name)
	fields := map[string]string{}
	if !emailRE.MatchString(in.Email) {
		fields["email"] = "error.email"
	}
	if in.Name == "" {
		fields["name"] = "error.required"
	}
	if in.Language == "" {
		in.Language = "nl"
	}
	if in.Language != "nl" && in.Language != "en" {
		fields["language"] = "error.choose"
	}
	if !in.Kind.Valid() {
		fields["kind"] = "error.choose"
	} else if role, err := FindRoleByID(ctx, tx, in.RoleID); err != nil || role.Kind != in.Kind {
		fields["role_id"] = "user.error.role_kind"
	}
	switch in.Kind {
	case access.KindEmployer:
		in.ProviderID = nil
		if len(in.EmployerIDs) == 0 {
			fields["employer_ids"] = "user.error.employer_required"
		}
		for _, id := range in.EmployerIDs {
			if _, err := FindEmployerByID(ctx, tx, id); err != nil {
				fields["employer_ids"] = "error.choose"
			}
		}
	case access.KindCoach:
		in.EmployerIDs = nil
		if in.ProviderID == nil {
			fields["provider_id"] = "user.error.provider_required"
		} else {
			var ok bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM intervention_providers WHERE id = $1)", *in.ProviderID).Scan(&ok); err != nil || !ok {
				fields["provider_id"] = "error.choose"
			}
		}
	default:
		in.ProviderID, in.EmployerIDs = nil, nil
	}
	if len(fields) > 0 {
		return apperr.Invalid(fields)
	}
	return nil
}

// createUser stores a new active user with an argon2id password hash made by the caller.
// EINVALID on bad input, ECONFLICT when the e-mail address is in use anywhere on the platform.
// It checks no right and writes no event: CreateUser does both around it.
func createUser(ctx context.Context, tx pgx.Tx, in UserInput, passwordHash string) (User, error) {
	if err := in.validate(ctx, tx); err != nil {
		return User{}, err
	}
	id := uuid.Must(uuid.NewV7())
	_, err := tx.Exec(ctx, `INSERT INTO users (tenant_id, id, email, name, kind, role_id, provider_id, language, password_hash)
		VALUES (app_tenant(), $1, $2, $3, $4, $5, $6, $7, $8)`,
		id, in.Email, in.Name, in.Kind, in.RoleID, in.ProviderID, in.Language, passwordHash)
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	if err := setUserEmployers(ctx, tx, id, in.EmployerIDs); err != nil {
		return User{}, err
	}
	return FindUserByID(ctx, tx, id)
}

// CreateUser stores a new user made by ed, who records it (user.created). EFORBIDDEN unless
// he holds users.manage; further errors as createUser.
func CreateUser(ctx context.Context, tx pgx.Tx, ed access.Editor, in UserInput, passwordHash string) (User, error) {
	if err := ed.Allow(access.Require(ed.Principal, access.UsersManage)); err != nil {
		return User{}, err
	}
	u, err := createUser(ctx, tx, in, passwordHash)
	if err != nil {
		return User{}, err
	}
	return u, writeUser(ctx, tx, ed, audit.UserCreated, u.ID, userDetails(u))
}

// userDetails is a user as his audit events record him.
func userDetails(u User) map[string]any {
	return map[string]any{"email": u.Email, "name": u.Name, "kind": u.Kind, "role": u.RoleName,
		"employers": u.EmployerIDs, "provider": u.ProviderID, "status": u.Status}
}

func writeUser(ctx context.Context, tx pgx.Tx, ed access.Editor, action string, id uuid.UUID, details map[string]any) error {
	return audit.Write(ctx, tx, ed.Actor, audit.Event{Action: action, SubjectType: "user", SubjectID: &id, Details: details})
}

// UpdateUser replaces a user's e-mail, name, kind, role, provider and employers, and records
// the change, before and after (user.updated). EFORBIDDEN unless ed holds users.manage;
// ENOTFOUND, EINVALID, ECONFLICT.
func UpdateUser(ctx context.Context, tx pgx.Tx, ed access.Editor, id uuid.UUID, in UserInput) (User, error) {
	if err := ed.Allow(access.Require(ed.Principal, access.UsersManage)); err != nil {
		return User{}, err
	}
	before, err := FindUserByID(ctx, tx, id)
	if err != nil {
		return User{}, err
	}
	if err := in.validate(ctx, tx); err != nil {
		return User{}, err
	}
	_, err = tx.Exec(ctx, `UPDATE users SET email = $2, name = $3, kind = $4, role_id = $5, provider_id = $6,
		language = $7, updated_at = now() WHERE id = $1`,
		id, in.Email, in.Name, in.Kind, in.RoleID, in.ProviderID, in.Language)
	if err != nil {
		return User{}, fmt.Errorf("update user: %w", err)
	}
	if err := setUserEmployers(ctx, tx, id, in.EmployerIDs); err != nil {
		return User{}, err
	}
	after, err := FindUserByID(ctx, tx, id)
	if err != nil {
		return User{}, err
	}
	return after, writeUser(ctx, tx, ed, audit.UserUpdated, id, map[string]any{"before": userDetails(before), "after": userDetails(after)})
}

func setUserEmployers(ctx context.Context, tx pgx.Tx, userID uuid.UUID, employerIDs []uuid.UUID) error {
	if _, err := tx.Exec(ctx, "DELETE FROM user_employers WHERE user_id = $1", userID); err != nil {
		return fmt.Errorf("set user employers: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO user_employers (tenant_id, user_id, employer_id)
		SELECT app_tenant(), $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING`, userID, employerIDs); err != nil {
		return fmt.Errorf("set user employers: %w", err)
	}
	return nil
}

// SetUserStatus blocks (StatusBlocked) or unblocks (StatusActive) a user and records it
// (user.blocked, user.unblocked). An editor cannot block himself, so a tenant cannot lose its
// last way in by accident. EFORBIDDEN unless ed holds users.manage; ENOTFOUND for an unknown
// user; EINVALID on an unknown status or when the editor blocks himself.
func SetUserStatus(ctx context.Context, tx pgx.Tx, ed access.Editor, id uuid.UUID, status string) error {
	if err := ed.Allow(access.Require(ed.Principal, access.UsersManage)); err != nil {
		return err
	}
	action, ok := map[string]string{StatusActive: audit.UserUnblocked, StatusBlocked: audit.UserBlocked}[status]
	if !ok {
		return apperr.Invalid(map[string]string{"status": "error.choose"})
	}
	if _, err := FindUserByID(ctx, tx, id); err != nil {
		return err
	}
	if id == ed.Principal.UserID && status == StatusBlocked {
		return apperr.New(apperr.EINVALID, "user.error.block_self")
	}
	if _, err := tx.Exec(ctx, "UPDATE users SET status = $2, updated_at = now() WHERE id = $1", id, status); err != nil {
		return fmt.Errorf("set user status: %w", err)
	}
	return writeUser(ctx, tx, ed, action, id, nil)
}

// SetUserLanguage sets the interface language ed chose for himself: a user changes his own
// preference only, and it is no change the audit log keeps. EFORBIDDEN for an editor who is no
// user (the system, nobody); EINVALID on an unknown language.
func SetUserLanguage(ctx context.Context, tx pgx.Tx, ed access.Editor, lang string) error {
	if ed.Principal.UserID == uuid.Nil {
		return apperr.New(apperr.EFORBIDDEN, "error.forbidden")
	}
	if lang != "nl" && lang != "en" {
		return apperr.Invalid(map[string]string{"language": "error.choose"})
	}
	_, err := tx.Exec(ctx, "UPDATE users SET language = $2 WHERE id = $1", ed.Principal.UserID, lang)
	return err
}

// principalColumns are a user's columns with his facts (access_facts f), as LoadPrincipal and
// LoadSession scan them.
const principalColumns = userColumns + ", f.all_employers, f.reach, f.departments, f.employees, f.delegated"

// principalRow is a user with his facts.
type principalRow struct {
	User
	access.Facts
}

func (r principalRow) principal(tenantID uuid.UUID) (User, access.Principal) {
	p := r.User.Principal(tenantID)
	p.Facts = r.Facts
	return r.User, p
}

// LoadPrincipal returns a user and the principal the access engine decides on, with his facts
// (access_facts, as access.LoadFacts reads them), in one statement. ENOTFOUND for an unknown
// user.
func LoadPrincipal(ctx context.Context, tx pgx.Tx, tenantID, userID uuid.UUID) (User, access.Principal, error) {
	r, err := database.FindOne[principalRow](ctx, tx, "user",
		"SELECT "+principalColumns+userFrom+", access_facts($1) f WHERE u.id = $1", userID)
	if err != nil {
		return User{}, access.Principal{}, err
	}
	u, p := r.principal(tenantID)
	return u, p, nil
}

// LoadSession returns what every request of a logged-in user starts with: his tenant, the user
// and his principal, as LoadPrincipal does, in one statement and one round trip (database.Read).
// ENOTFOUND for an unknown tenant or user.
func LoadSession(ctx context.Context, db database.Batcher, tenantID, userID uuid.UUID) (Tenant, User, access.Principal, error) {
	var t Tenant
	var r principalRow
	b := &pgx.Batch{}
	b.Queue("SELECT t.id, t.name, t.is_demo, t.created_at, "+principalColumns+userFrom+
		", access_facts($2) f, tenants t WHERE t.id = $1 AND u.id = $2", [16]byte(tenantID), [16]byte(userID)).QueryRow(
		func(row pgx.Row) error { return scanSession(row, &t, &r) })
	err := database.Read(ctx, db, tenantID, b)
	if database.IsNoRows(err) {
		return Tenant{}, User{}, access.Principal{}, apperr.New(apperr.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return Tenant{}, User{}, access.Principal{}, fmt.Errorf("load session: %w", err)
	}
	u, p := r.principal(tenantID)
	return t, u, p, nil
}

// scanSession reads LoadSession's row field by field, its ids as 16 bytes: pgx reads a
// uuid.UUID through its text form (sql.Scanner), and the facts hold a hundred ids or more.
func scanSession(row pgx.Row, t *Tenant, r *principalRow) error {
	var provider pgtype.UUID
	var employers, all, reach, departments, employees, delegated [][16]byte
	u := &r.User
	err := row.Scan((*[16]byte)(&t.ID), &t.Name, &t.IsDemo, &t.CreatedAt,
		(*[16]byte)(&u.ID), &u.Email, &u.Name, &u.Kind, (*[16]byte)(&u.RoleID), &u.RoleName, &u.Rights, &provider,
		&u.ProviderName, &u.Status, &u.Language, &employers, &u.CreatedAt, &u.UpdatedAt,
		&all, &reach, &departments, &employees, &delegated)
	if err != nil {
		return err
	}
	if provider.Valid {
		id := uuid.UUID(provider.Bytes)
		u.ProviderID = &id
	}
	u.EmployerIDs = uuids(employers)
	r.Facts = access.Facts{AllEmployers: uuids(all), Reach: uuids(reach), Departments: uuids(departments),
		Employees: uuids(employees), Delegated: uuids(delegated)}
	return nil
}

// uuids converts ids read as 16 bytes.
func uuids(b [][16]byte) []uuid.UUID {
	if b == nil {
		return nil
	}
	ids := make([]uuid.UUID, len(b))
	for i, id := range b {
		ids[i] = id
	}
	return ids
}
