package release_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/big"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"tally/app/release"
)

// The offsets of a PE32+ file as testPE lays it out.
const (
	peOffset       = 0x40
	optOffset      = peOffset + 24
	checksumOffset = optOffset + 64
	securityEntry  = optOffset + 112 + 4*8
)

// testPE is a small PE32+ file: headers with sixteen data directories and
// no sections, then some bytes standing for code.
func testPE(seed uint64) []byte {
	b := make([]byte, optOffset+240)
	b[0], b[1] = 'M', 'Z'
	binary.LittleEndian.PutUint32(b[0x3c:], peOffset)
	copy(b[peOffset:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(b[peOffset+4:], 0x8664)  // machine: amd64
	binary.LittleEndian.PutUint16(b[peOffset+20:], 240)    // optional header size
	binary.LittleEndian.PutUint16(b[peOffset+22:], 0x0022) // executable, large address aware
	binary.LittleEndian.PutUint16(b[optOffset:], 0x20b)    // PE32+
	binary.LittleEndian.PutUint32(b[optOffset+108:], 16)   // data directories
	r := mrand.New(mrand.NewPCG(seed, seed))
	code := make([]byte, 1000)
	for i := range code {
		code[i] = byte(r.Uint32())
	}
	return append(b, code...)
}

// signer is a throwaway code-signing certificate and its key.
type signer struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newSigner(t testing.TB, key crypto.Signer) signer {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(4242),
		Subject:      pkix.Name{CommonName: "Tally test signing", Organization: []string{"The election commission"}},
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return signer{cert: cert, key: key}
}

var (
	oidSignedData      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidSpcIndirectData = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 4}
	oidSpcPEImageData  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 15}
	oidContentType     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSHA256          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidRSA             = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
)

// signOptions spoil one part of a signature, for the tests that it is
// refused.
type signOptions struct {
	wrongAttrDigest bool
}

// sign appends an Authenticode signature to a PE file, as osslsigncode
// does: the file padded to eight bytes, its digest without the checksum,
// the certificate table's entry and the table, in a PKCS#7 SignedData.
func (s signer) sign(t testing.TB, pe []byte, o signOptions) []byte {
	t.Helper()
	pe = append([]byte(nil), pe...)
	for len(pe)%8 != 0 {
		pe = append(pe, 0)
	}
	h := sha256.New()
	h.Write(pe[:checksumOffset])
	h.Write(pe[checksumOffset+4 : securityEntry])
	h.Write(pe[securityEntry+8:])
	imageDigest := h.Sum(nil)

	algID := func(b *cryptobyte.Builder, oid asn1.ObjectIdentifier) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1NULL()
		})
	}
	var ib cryptobyte.Builder // SpcIndirectDataContent's content
	ib.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidSpcPEImageData)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1BitString([]byte{})
		})
	})
	ib.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		algID(b, oidSHA256)
		b.AddASN1OctetString(imageDigest)
	})
	indirect := ib.BytesOrPanic()
	attrDigest := sha256.Sum256(indirect)
	if o.wrongAttrDigest {
		attrDigest[0] ^= 1
	}

	attrs := func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidContentType)
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidSpcIndirectData) })
		})
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidMessageDigest)
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddASN1OctetString(attrDigest[:]) })
		})
	}
	var ab cryptobyte.Builder
	ab.AddASN1(cbasn1.SET, attrs)
	signedAttrs := sha256.Sum256(ab.BytesOrPanic())
	sig, err := s.key.Sign(rand.Reader, signedAttrs[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	sigAlg := oidRSA
	if _, ok := s.key.(*ecdsa.PrivateKey); ok {
		sigAlg = oidECDSAWithSHA256
	}

	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { algID(b, oidSHA256) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(oidSpcIndirectData)
					b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(indirect) })
					})
				})
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddBytes(s.cert.Raw)
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddBytes(s.cert.RawIssuer)
							b.AddASN1BigInt(s.cert.SerialNumber)
						})
						algID(b, oidSHA256)
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), attrs)
						algID(b, sigAlg)
						b.AddASN1OctetString(sig)
					})
				})
			})
		})
	})
	der := b.BytesOrPanic()
	for len(der)%8 != 0 {
		der = append(der, 0)
	}
	entry := make([]byte, 8, 8+len(der))
	binary.LittleEndian.PutUint32(entry[0:], uint32(8+len(der)))
	binary.LittleEndian.PutUint16(entry[4:], 0x0200)
	binary.LittleEndian.PutUint16(entry[6:], 0x0002)
	entry = append(entry, der...)
	binary.LittleEndian.PutUint32(pe[securityEntry:], uint32(len(pe)))
	binary.LittleEndian.PutUint32(pe[securityEntry+4:], uint32(len(entry)))
	return append(pe, entry...)
}

func certSum(c *x509.Certificate) string {
	h := sha256.Sum256(c.Raw)
	return hex.EncodeToString(h[:])
}

func TestAuthenticode(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		name string
		key  crypto.Signer
	}{{"ECDSA", ecKey}, {"RSA", rsaKey}} {
		t.Run(s.name, func(t *testing.T) {
			sg := newSigner(t, s.key)
			signed := sg.sign(t, testPE(1), signOptions{})
			got, err := release.Authenticode(signed)
			if err != nil {
				t.Fatal(err)
			}
			if got.CertSHA256 != certSum(sg.cert) || !strings.Contains(got.Subject, "CN=Tally test signing") {
				t.Errorf("signer %+v, want the certificate %s", got, certSum(sg.cert))
			}
		})
	}

	sg := newSigner(t, ecKey)
	signed := sg.sign(t, testPE(2), signOptions{})
	table := int(binary.LittleEndian.Uint32(signed[securityEntry:]))

	t.Run("ChecksumIsNotSigned", func(t *testing.T) {
		// Windows tools rewrite the checksum; Authenticode leaves it out.
		b := bytes.Clone(signed)
		b[checksumOffset] ^= 0xff
		if _, err := release.Authenticode(b); err != nil {
			t.Fatalf("a changed checksum: %v", err)
		}
	})

	refused := []struct {
		name   string
		change func(b []byte) []byte
		want   string
	}{
		{"ErrCodeChanged", func(b []byte) []byte { b[optOffset+240+10] ^= 1; return b }, "changed after signing"},
		{"ErrHeaderChanged", func(b []byte) []byte { b[peOffset+22] ^= 1; return b }, "changed after signing"},
		{"ErrSignatureChanged", func(b []byte) []byte {
			// The last byte of the signature, before the padding.
			i := len(b) - 1
			for b[i] == 0 {
				i--
			}
			b[i] ^= 1
			return b
		}, "does not verify"},
		{"ErrAppended", func(b []byte) []byte { return append(b, "payload"...) }, "does not end"},
		{"ErrTableOutside", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[securityEntry+4:], uint32(len(b)))
			return b
		}, "does not end"},
		{"ErrEntryLength", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[table:], 1<<30)
			return b
		}, "certificate entry"},
		{"ErrEntryType", func(b []byte) []byte { b[table+6] = 1; return b }, "PKCS#7"},
		{"ErrNotPE", func(b []byte) []byte { b[0] = 'X'; return b }, "no MZ header"},
		{"ErrNoPESignature", func(b []byte) []byte { b[peOffset] = 'X'; return b }, "no PE signature"},
		{"ErrMagic", func(b []byte) []byte { b[optOffset] = 0; return b }, "magic"},
		{"ErrTruncated", func(b []byte) []byte { return b[:optOffset+20] }, "optional header"},
		{"ErrGarbage", func(b []byte) []byte {
			for i := table + 8; i < len(b); i++ {
				b[i] = 0x30
			}
			return b
		}, "signature"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := release.Authenticode(tc.change(bytes.Clone(signed)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}

	t.Run("ErrMessageDigest", func(t *testing.T) {
		b := sg.sign(t, testPE(3), signOptions{wrongAttrDigest: true})
		if _, err := release.Authenticode(b); err == nil || !strings.Contains(err.Error(), "message digest") {
			t.Fatalf("error %v, want one about the message digest", err)
		}
	})
	t.Run("ErrOtherSignersFile", func(t *testing.T) {
		// A valid signature of one file moved onto another.
		other := testPE(4)
		sig := signed[table:]
		b := append(bytes.Clone(other), sig...)
		binary.LittleEndian.PutUint32(b[securityEntry:], uint32(len(other)))
		binary.LittleEndian.PutUint32(b[securityEntry+4:], uint32(len(sig)))
		if _, err := release.Authenticode(b); err == nil || !strings.Contains(err.Error(), "changed after signing") {
			t.Fatalf("error %v, want the digest refused", err)
		}
	})
	t.Run("ErrUnsigned", func(t *testing.T) {
		if _, err := release.Authenticode(testPE(5)); !errors.Is(err, release.ErrUnsigned) {
			t.Fatalf("error %v, want ErrUnsigned", err)
		}
	})
}

func FuzzAuthenticode(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(newSigner(f, key).sign(f, testPE(1), signOptions{}))
	f.Add(testPE(2))
	f.Fuzz(func(t *testing.T, pe []byte) {
		signer, err := release.Authenticode(pe)
		if (signer == nil) == (err == nil) {
			t.Fatalf("signer %v and error %v", signer, err)
		}
	})
}
