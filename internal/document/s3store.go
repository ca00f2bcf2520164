package document

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"gocloud.dev/blob"
)

// s3Store is a BlobStore on S3-compatible object storage (the Go CDK's s3blob).
type s3Store struct {
	bucket
	client *s3.Client // the bucket's own client, for what the Go CDK does not offer
	name   string     // the bucket's name
}

// openS3Store opens the bucket of the s3:// URL u.
func openS3Store(ctx context.Context, u *url.URL) (BlobStore, error) {
	b, err := blob.OpenBucket(ctx, u.String())
	if err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	s := s3Store{bucket: bucket{b}, name: u.Host}
	if !b.As(&s.client) {
		b.Close()
		return nil, errors.New("open blob store: the s3 bucket gives no S3 client")
	}
	return s, nil
}

func (s s3Store) NewWriter(ctx context.Context, key, contentType string) (io.WriteCloser, error) {
	w, err := s.b.NewWriter(ctx, key, writerOptions(contentType))
	if err != nil {
		return nil, fmt.Errorf("write blob %s: %w", key, err)
	}
	return &s3Writer{Writer: w, ctx: ctx, store: s, key: key}, nil
}

func (s s3Store) NewRangeReader(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	r, err := s.b.NewRangeReader(ctx, key, offset, length, nil)
	if err != nil {
		return nil, blobError("read", key, err)
	}
	return r, nil
}

// RemoveUnfinished does nothing: object storage never shows an unfinished upload, and an aborted
// one is cleaned up when its writer closes (s3Writer).
func (s s3Store) RemoveUnfinished(context.Context, string) error { return nil }

// s3Writer cleans up after an aborted S3 write. The SDK's transfer manager aborts a failed
// multipart upload with the request's own context, which is already cancelled when the write
// is aborted: the abort request never leaves, and the uploaded parts would stay on the server
// (invisible as objects, yet stored and billed) until a lifecycle rule removes them.
type s3Writer struct {
	*blob.Writer
	ctx   context.Context
	store s3Store
	key   string
}

// abortTimeout bounds the clean-up of an aborted S3 upload.
const abortTimeout = 30 * time.Second

func (w *s3Writer) Close() error {
	err := w.Writer.Close()
	if w.ctx.Err() == nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), abortTimeout)
	defer cancel()
	if aerr := w.store.abortUploads(ctx, w.key); aerr != nil {
		return aerr
	}
	return err
}

// abortUploads aborts the unfinished multipart uploads of key. Keys are documents/<uuid>/<uuid>,
// which s3blob sends unescaped.
func (s s3Store) abortUploads(ctx context.Context, key string) error {
	out, err := s.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(s.name), Prefix: aws.String(key)})
	if ae, ok := errors.AsType[smithy.APIError](err); ok && ae.ErrorCode() == "NoSuchUpload" {
		// Some S3-compatible servers answer so for a bucket without unfinished uploads.
		return nil
	}
	if err != nil {
		return fmt.Errorf("list unfinished uploads of blob %s: %w", key, err)
	}
	for _, up := range out.Uploads {
		if aws.ToString(up.Key) != key {
			continue
		}
		_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(s.name), Key: up.Key, UploadId: up.UploadId})
		if err != nil {
			return fmt.Errorf("abort unfinished upload of blob %s: %w", key, err)
		}
	}
	return nil
}
