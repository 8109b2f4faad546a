package release

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	_ "crypto/sha512" // SHA-384 and SHA-512 for crypto.Hash.New
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ErrUnsigned is Authenticode's error for a PE file without a signature.
var ErrUnsigned = errors.New("not signed")

var (
	oidSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidSpcIndirectData   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 4}
	oidContentType       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSHA256            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidRSA               = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA256WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECPublicKey       = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSAWithSHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	winCertRevision2     = uint16(0x0200)
	winCertTypePKCS7     = uint16(0x0002)
	securityDirectoryIdx = 4
)

// Authenticode verifies the Authenticode signature of a Windows PE file
// (an .exe or .dll): that the digest it signs is the digest of the file as
// it is, and that the signer's certificate made the signature. It returns
// that certificate. It does not decide whether the certificate is trusted:
// a release names the certificate it expects in its manifest, and Windows
// checks the chain to its own roots.
//
// Only the first signature is checked; SHA-256, SHA-384 and SHA-512 with
// RSA or ECDSA keys are accepted, as osslsigncode and signtool make them.
func Authenticode(pe []byte) (*Signer, error) {
	layout, err := parsePE(pe)
	if err != nil {
		return nil, err
	}
	if layout.certSize == 0 {
		return nil, ErrUnsigned
	}
	table := pe[layout.certOffset : layout.certOffset+layout.certSize]
	if len(table) < 8 {
		return nil, errors.New("certificate table shorter than its header")
	}
	length := binary.LittleEndian.Uint32(table[0:4])
	if length < 8 || int64(length) > int64(len(table)) {
		return nil, fmt.Errorf("certificate entry of %d bytes in a table of %d", length, len(table))
	}
	if rev, typ := binary.LittleEndian.Uint16(table[4:6]), binary.LittleEndian.Uint16(table[6:8]); rev != winCertRevision2 || typ != winCertTypePKCS7 {
		return nil, fmt.Errorf("certificate entry revision %#04x type %#04x, want a PKCS#7 signature (revision 0x0200, type 0x0002)", rev, typ)
	}
	sig, err := parseSignedData(table[8:length])
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	h := sig.imageHash.New()
	h.Write(pe[:layout.checksumOffset])
	h.Write(pe[layout.checksumOffset+4 : layout.securityEntryOffset])
	h.Write(pe[layout.securityEntryOffset+8 : layout.certOffset])
	if !bytes.Equal(h.Sum(nil), sig.imageDigest) {
		return nil, errors.New("the file's digest differs from the one signed: the file was changed after signing")
	}
	if err := sig.verify(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(sig.cert.Raw)
	return &Signer{Subject: sig.cert.Subject.String(), CertSHA256: hex.EncodeToString(sum[:])}, nil
}

// peLayout is where the parts that Authenticode leaves out of the digest
// are in a PE file.
type peLayout struct {
	checksumOffset      int
	securityEntryOffset int
	certOffset          int
	certSize            int
}

func parsePE(b []byte) (peLayout, error) {
	var l peLayout
	if len(b) < 0x40 || b[0] != 'M' || b[1] != 'Z' {
		return l, errors.New("not a PE file: no MZ header")
	}
	peOff := int(binary.LittleEndian.Uint32(b[0x3c:]))
	if peOff < 0x40 || peOff > len(b)-24 || !bytes.Equal(b[peOff:peOff+4], []byte("PE\x00\x00")) {
		return l, errors.New("not a PE file: no PE signature where the MZ header points")
	}
	optSize := int(binary.LittleEndian.Uint16(b[peOff+20:]))
	opt := peOff + 24
	if opt+optSize > len(b) || optSize < 2 {
		return l, errors.New("PE optional header runs past the end of the file")
	}
	var countOff, dirOff int
	switch magic := binary.LittleEndian.Uint16(b[opt:]); magic {
	case 0x10b: // PE32
		countOff, dirOff = opt+92, opt+96
	case 0x20b: // PE32+
		countOff, dirOff = opt+108, opt+112
	default:
		return l, fmt.Errorf("PE optional header magic %#04x is neither PE32 nor PE32+", magic)
	}
	if countOff+4 > opt+optSize {
		return l, errors.New("PE optional header too short for its data directories")
	}
	if n := binary.LittleEndian.Uint32(b[countOff:]); int(n) <= securityDirectoryIdx {
		return l, fmt.Errorf("PE file has %d data directories, none for a certificate table", n)
	}
	l.checksumOffset = opt + 64
	l.securityEntryOffset = dirOff + 8*securityDirectoryIdx
	if l.securityEntryOffset+8 > opt+optSize {
		return l, errors.New("PE optional header too short for the certificate table's entry")
	}
	// The certificate table's "virtual address" is a file offset.
	certOff := int64(binary.LittleEndian.Uint32(b[l.securityEntryOffset:]))
	certSize := int64(binary.LittleEndian.Uint32(b[l.securityEntryOffset+4:]))
	if certSize == 0 {
		l.certOffset = len(b)
		return l, nil
	}
	// Signing appends the table at the end; anything after it would be
	// covered by no digest.
	if certOff < int64(l.securityEntryOffset+8) || certOff+certSize != int64(len(b)) {
		return l, fmt.Errorf("certificate table at %d, %d bytes, does not end the %d-byte file", certOff, certSize, len(b))
	}
	l.certOffset, l.certSize = int(certOff), int(certSize)
	return l, nil
}

// signedData is what Authenticode needs of a PKCS#7 SignedData.
type signedData struct {
	imageHash   crypto.Hash
	imageDigest []byte
	// indirect is the content of SpcIndirectDataContent without its tag
	// and length, which is what the messageDigest attribute hashes.
	indirect    []byte
	cert        *x509.Certificate
	signerHash  crypto.Hash
	signedAttrs []byte // re-tagged as a SET, as signed
	attrDigest  []byte
	sigAlg      asn1.ObjectIdentifier
	signature   []byte
}

var errMalformed = errors.New("malformed PKCS#7 structure")

func parseSignedData(der []byte) (*signedData, error) {
	in := cryptobyte.String(der)
	var ci, sd cryptobyte.String
	var ctype asn1.ObjectIdentifier
	// Trailing zero bytes pad the entry to eight bytes.
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !allZero(in) ||
		!ci.ReadASN1ObjectIdentifier(&ctype) {
		return nil, errMalformed
	}
	if !ctype.Equal(oidSignedData) {
		return nil, fmt.Errorf("content type %v is not PKCS#7 signed data", ctype)
	}
	var explicit cryptobyte.String
	var version int
	var digestAlgs, encap cryptobyte.String
	if !ci.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!explicit.ReadASN1(&sd, cbasn1.SEQUENCE) ||
		!sd.ReadASN1Integer(&version) ||
		!sd.ReadASN1(&digestAlgs, cbasn1.SET) ||
		!sd.ReadASN1(&encap, cbasn1.SEQUENCE) {
		return nil, errMalformed
	}
	s := &signedData{}
	if err := s.parseIndirect(encap); err != nil {
		return nil, err
	}
	var certs, crls, signerInfos cryptobyte.String
	var hasCerts, hasCRLs bool
	if !sd.ReadOptionalASN1(&certs, &hasCerts, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!sd.ReadOptionalASN1(&crls, &hasCRLs, cbasn1.Tag(1).Constructed().ContextSpecific()) ||
		!sd.ReadASN1(&signerInfos, cbasn1.SET) {
		return nil, errMalformed
	}
	var si cryptobyte.String
	if !signerInfos.ReadASN1(&si, cbasn1.SEQUENCE) {
		return nil, errors.New("no signer")
	}
	issuer, serial, err := s.parseSignerInfo(si)
	if err != nil {
		return nil, err
	}
	for !certs.Empty() {
		var c cryptobyte.String
		if !certs.ReadASN1Element(&c, cbasn1.SEQUENCE) {
			return nil, errMalformed
		}
		cert, err := x509.ParseCertificate(c)
		if err != nil {
			continue // another kind of certificate: not the signer's
		}
		if bytes.Equal(cert.RawIssuer, issuer) && cert.SerialNumber.Cmp(serial) == 0 {
			s.cert = cert
			break
		}
	}
	if s.cert == nil {
		return nil, errors.New("the signer's certificate is not in the signature")
	}
	return s, nil
}

// parseIndirect reads the encapsulated SpcIndirectDataContent: the digest
// of the image.
func (s *signedData) parseIndirect(encap cryptobyte.String) error {
	var ctype asn1.ObjectIdentifier
	var explicit, indirect, data, digestInfo, alg cryptobyte.String
	if !encap.ReadASN1ObjectIdentifier(&ctype) {
		return errMalformed
	}
	if !ctype.Equal(oidSpcIndirectData) {
		return fmt.Errorf("signed content type %v is not Authenticode's indirect data", ctype)
	}
	if !encap.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!explicit.ReadASN1(&indirect, cbasn1.SEQUENCE) {
		return errMalformed
	}
	s.indirect = indirect
	var digestOID asn1.ObjectIdentifier
	if !indirect.ReadASN1(&data, cbasn1.SEQUENCE) ||
		!indirect.ReadASN1(&digestInfo, cbasn1.SEQUENCE) ||
		!digestInfo.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!alg.ReadASN1ObjectIdentifier(&digestOID) ||
		!digestInfo.ReadASN1Bytes(&s.imageDigest, cbasn1.OCTET_STRING) {
		return errMalformed
	}
	h, err := hashOf(digestOID)
	if err != nil {
		return fmt.Errorf("image digest: %w", err)
	}
	if len(s.imageDigest) != h.Size() {
		return fmt.Errorf("image digest of %d bytes for a %d-byte hash", len(s.imageDigest), h.Size())
	}
	s.imageHash = h
	return nil
}

// parseSignerInfo reads the first SignerInfo and returns the issuer and
// serial number that name the signer's certificate.
func (s *signedData) parseSignerInfo(si cryptobyte.String) ([]byte, *big.Int, error) {
	var version int
	var ias, issuer, digestAlg, attrs, sigAlg cryptobyte.String
	serial := new(big.Int)
	var digestOID asn1.ObjectIdentifier
	if !si.ReadASN1Integer(&version) ||
		!si.ReadASN1(&ias, cbasn1.SEQUENCE) ||
		!ias.ReadASN1Element(&issuer, cbasn1.SEQUENCE) ||
		!ias.ReadASN1Integer(serial) ||
		!si.ReadASN1(&digestAlg, cbasn1.SEQUENCE) ||
		!digestAlg.ReadASN1ObjectIdentifier(&digestOID) ||
		!si.ReadASN1Element(&attrs, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!si.ReadASN1(&sigAlg, cbasn1.SEQUENCE) ||
		!sigAlg.ReadASN1ObjectIdentifier(&s.sigAlg) ||
		!si.ReadASN1Bytes(&s.signature, cbasn1.OCTET_STRING) {
		return nil, nil, errMalformed
	}
	h, err := hashOf(digestOID)
	if err != nil {
		return nil, nil, fmt.Errorf("signer digest: %w", err)
	}
	s.signerHash = h
	// The signature covers the attributes encoded as a SET, not with the
	// [0] tag they carry in the SignerInfo.
	s.signedAttrs = append([]byte{0x31}, attrs[1:]...)
	var set cryptobyte.String
	if !attrs.ReadASN1(&set, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, nil, errMalformed
	}
	var contentType asn1.ObjectIdentifier
	for !set.Empty() {
		var attr, values cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !set.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) || !attr.ReadASN1(&values, cbasn1.SET) {
			return nil, nil, errMalformed
		}
		switch {
		case oid.Equal(oidMessageDigest):
			if !values.ReadASN1Bytes(&s.attrDigest, cbasn1.OCTET_STRING) {
				return nil, nil, errMalformed
			}
		case oid.Equal(oidContentType):
			if !values.ReadASN1ObjectIdentifier(&contentType) {
				return nil, nil, errMalformed
			}
		}
	}
	if s.attrDigest == nil {
		return nil, nil, errors.New("the signed attributes have no message digest")
	}
	if !contentType.Equal(oidSpcIndirectData) {
		return nil, nil, errors.New("the signed attributes do not name Authenticode's indirect data")
	}
	return issuer, serial, nil
}

// verify checks that the signed attributes hash the indirect data, and the
// signature over them.
func (s *signedData) verify() error {
	h := s.signerHash.New()
	h.Write(s.indirect)
	if !bytes.Equal(h.Sum(nil), s.attrDigest) {
		return errors.New("the signed message digest does not match the signed content")
	}
	h = s.signerHash.New()
	h.Write(s.signedAttrs)
	digest := h.Sum(nil)
	var ok bool
	switch pub := s.cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if !s.sigAlg.Equal(oidRSA) && !s.sigAlg.Equal(oidSHA256WithRSA) && !s.sigAlg.Equal(oidSHA384WithRSA) && !s.sigAlg.Equal(oidSHA512WithRSA) {
			return fmt.Errorf("signature algorithm %v does not fit an RSA key", s.sigAlg)
		}
		ok = rsa.VerifyPKCS1v15(pub, s.signerHash, digest, s.signature) == nil
	case *ecdsa.PublicKey:
		if !s.sigAlg.Equal(oidECPublicKey) && !s.sigAlg.Equal(oidECDSAWithSHA256) && !s.sigAlg.Equal(oidECDSAWithSHA384) && !s.sigAlg.Equal(oidECDSAWithSHA512) {
			return fmt.Errorf("signature algorithm %v does not fit an ECDSA key", s.sigAlg)
		}
		ok = ecdsa.VerifyASN1(pub, digest, s.signature)
	default:
		return fmt.Errorf("the signer's key is a %T, not RSA or ECDSA", pub)
	}
	if !ok {
		return errors.New("the signature does not verify with the signer's certificate")
	}
	return nil
}

func hashOf(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	switch {
	case oid.Equal(oidSHA256):
		return crypto.SHA256, nil
	case oid.Equal(oidSHA384):
		return crypto.SHA384, nil
	case oid.Equal(oidSHA512):
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("hash algorithm %v is not SHA-256, SHA-384 or SHA-512", oid)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
