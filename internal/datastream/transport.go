// Package datastream delivers a tenant's data to its data warehouse over SFTP: accounts and their
// secrets, the transports (an external SFTP server, the hosted one), configurations, the stream
// catalogue, the CSV files, deliveries, schedules and log reports.
package datastream

import (
	"context"
	"io"
	"time"
)

// FileInfo is one entry of a folder listing.
type FileInfo struct {
	Name    string
	Size    int64
	ModTime time.Time
	IsDir   bool
}

// Transport is where a delivery writes and what "open folder" browses: an external SFTP server or
// an account's hosted folder. Paths are slash-separated and relative to the account's base folder;
// an implementation never leaves that folder. Every error says which step failed.
type Transport interface {
	// MkdirAll makes dir and any missing parents.
	MkdirAll(ctx context.Context, dir string) error
	// Upload writes r to name+".part" and renames it to name once complete, replacing a file
	// already there, so a reader never sees a partial file under name. On failure name is left
	// as it was and the temporary file is removed where the server allows it.
	Upload(ctx context.Context, name string, r io.Reader) (int64, error)
	// List returns the entries of dir, sorted by name.
	List(ctx context.Context, dir string) ([]FileInfo, error)
	// Open streams the file name.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// Remove deletes the file name.
	Remove(ctx context.Context, name string) error
	// Close ends the connection.
	Close() error
}
