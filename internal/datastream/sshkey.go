package datastream

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// KeyPair is an SSH key pair Dossierkast generated for an external account: the private key in
// OpenSSH's PEM form (kept sealed), the public key as a line for authorized_keys.
type KeyPair struct {
	PrivatePEM []byte
	PublicLine string
}

// GenerateKeyPair returns a new ed25519 key pair whose public line ends in comment.
func GenerateKeyPair(comment string) (KeyPair, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return KeyPair{}, fmt.Errorf("generate key pair: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return KeyPair{}, fmt.Errorf("generate key pair: %w", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return KeyPair{}, fmt.Errorf("generate key pair: %w", err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
	if comment != "" {
		line += " " + comment
	}
	return KeyPair{PrivatePEM: pem.EncodeToMemory(block), PublicLine: line}, nil
}

// ParsePublicKey reads one public key in authorized_keys form ("ssh-ed25519 AAAA… comment"),
// as an administrator pastes it or as a pinned host key is stored.
func ParsePublicKey(line string) (ssh.PublicKey, error) {
	pk, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(line)))
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return nil, fmt.Errorf("parse public key: more than one key")
	}
	return pk, nil
}

// KeyLine returns pk in authorized_keys form, without a comment.
func KeyLine(pk ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))
}

// Fingerprint returns the SHA-256 fingerprint of the public key line, as `ssh-keygen -l` prints
// it ("SHA256:…"), or "" when line holds no key.
func Fingerprint(line string) string {
	pk, err := ParsePublicKey(line)
	if err != nil {
		return ""
	}
	return ssh.FingerprintSHA256(pk)
}

// hostKeyAlgorithms are the algorithms a client may accept for the pinned key pk: only its own,
// so a server that also has a key of another type cannot present that one instead.
func hostKeyAlgorithms(pk ssh.PublicKey) []string {
	if pk.Type() == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{pk.Type()}
}
