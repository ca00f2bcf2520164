// Package secret keeps stored credentials (passwords and private keys of datastream accounts,
// the hosted SFTP server's host key) encrypted at rest: AES-256-GCM under the key in
// SECRET_KEY_FILE, with the key's id stored beside every sealed value so the key can be rotated
// (Rotate) while the old one still opens what it sealed.
package secret

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeySize is the length of a key: AES-256.
const KeySize = 32

// Key is one encryption key and its id. The id is derived from the key (a truncated SHA-256 of
// it under a label), so it needs no storage of its own and names the same key in every process.
type Key struct {
	id   string
	aead cipher.AEAD
}

// ID returns the key's id, as stored beside every value it sealed.
func (k Key) ID() string { return k.id }

// NewKey returns the Key of raw, which must be KeySize bytes.
func NewKey(raw []byte) (Key, error) {
	if len(raw) != KeySize {
		return Key{}, fmt.Errorf("secret key: want %d bytes, got %d", KeySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return Key{}, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return Key{}, fmt.Errorf("secret key: %w", err)
	}
	sum := sha256.Sum256(append([]byte("dossierkast secret key id\x00"), raw...))
	return Key{id: hex.EncodeToString(sum[:8]), aead: aead}, nil
}

// GenerateKey returns a new random key.
func GenerateKey() Key {
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	k, err := NewKey(raw)
	if err != nil {
		panic(err) // a fresh KeySize-byte slice is always a valid key
	}
	return k
}

// LoadKeyFile reads the key in path: 32 raw bytes, or 64 hexadecimal characters (white space
// around them ignored). With create set, a missing file is created with a new random key
// (hexadecimal, mode 0600, its folder made when missing); otherwise a missing file is an error.
func LoadKeyFile(path string, create bool) (Key, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		raw := make([]byte, KeySize)
		if _, err := rand.Read(raw); err != nil {
			return Key{}, err
		}
		if err := writeKeyFile(path, raw); err != nil {
			return Key{}, err
		}
		return NewKey(raw)
	}
	if err != nil {
		return Key{}, fmt.Errorf("read secret key: %w", err)
	}
	raw := b
	if len(b) != KeySize {
		raw, err = hex.DecodeString(string(bytes.TrimSpace(b)))
		if err != nil || len(raw) != KeySize {
			return Key{}, fmt.Errorf("secret key %s: want %d random bytes, or %d hexadecimal characters", path, KeySize, 2*KeySize)
		}
	}
	return NewKey(raw)
}

// writeKeyFile writes raw, hexadecimal, to a new file path: it never replaces an existing key.
func writeKeyFile(path string, raw []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create secret key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create secret key: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(raw) + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("create secret key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("create secret key: %w", err)
	}
	return f.Close()
}

// Keyring seals with its current key and opens with any of its keys, so values sealed under an
// older key still open until they are rotated.
type Keyring struct {
	current Key
	keys    map[string]Key
}

// NewKeyring returns a keyring that seals with current and opens with current and older.
func NewKeyring(current Key, older ...Key) *Keyring {
	r := &Keyring{current: current, keys: map[string]Key{current.id: current}}
	for _, k := range older {
		r.keys[k.id] = k
	}
	return r
}

// CurrentID returns the id of the key new values are sealed with.
func (r *Keyring) CurrentID() string { return r.current.id }

// Seal encrypts plaintext under the current key with the associated data ad (which Open must be
// given again) and returns the key's id and the nonce followed by the ciphertext.
func (r *Keyring) Seal(plaintext, ad []byte) (keyID string, sealed []byte) {
	a := r.current.aead
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(plaintext)+a.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return r.current.id, a.Seal(nonce, nonce, plaintext, ad)
}

// ErrUnknownKey means a value was sealed under a key the keyring does not hold.
var ErrUnknownKey = errors.New("secret: sealed under a key this process does not have (SECRET_KEY_FILE)")

// Open decrypts a value Seal returned. It fails with ErrUnknownKey when the keyring lacks the
// key keyID, and with an error when the value or its associated data was altered.
func (r *Keyring) Open(keyID string, sealed, ad []byte) ([]byte, error) {
	k, ok := r.keys[keyID]
	if !ok {
		return nil, fmt.Errorf("%w: key id %s", ErrUnknownKey, keyID)
	}
	n := k.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("secret: sealed value too short")
	}
	plain, err := k.aead.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return nil, fmt.Errorf("secret: open: %w", err)
	}
	return plain, nil
}
