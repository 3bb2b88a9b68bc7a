package rules

import (
	"crypto/sha1" //nolint:gosec // ssl_c_sha1 is the certificate's SHA-1 fingerprint, by definition
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"

	"github.com/tandem-lb/tandem/config"
	crules "github.com/tandem-lb/tandem/config/rules"
)

// fetchSSL handles the TLS fetches of the client connection beyond
// ssl_fc/ssl_fc_sni/alpn/protocol: the client certificate (ssl_c_*) and
// the session (ssl_fc_*), as HAProxy 2.6's ssl_sample.c gives them.
func (s *State) fetchSSL(e *expr, c Conn) (smp sample, ok, handled bool) {
	var info TLSInfo
	tls := false
	if c != nil {
		info, tls = c.TLS()
	}
	if !tls {
		return sample{}, false, true
	}
	peer := info.Peer
	switch e.fetch {
	case crules.FetchSSLFcHasCrt, crules.FetchSSLCUsed:
		return boolSample(peer != nil), true, true
	case crules.FetchSSLFcHasSNI:
		return boolSample(info.SNI != ""), true, true
	case crules.FetchSSLFcIsResumed:
		return boolSample(info.Resumed), true, true
	case crules.FetchSSLCVerify, crules.FetchSSLCErr, crules.FetchSSLCCaErr, crules.FetchSSLCCaErrDepth:
		// The handshake refuses a certificate that does not verify
		// (tandem has no ca-ignore-err): what passes verified, 0.
		return intSample(0), true, true
	case crules.FetchSSLFcCipher:
		return s.strOf(config.OpenSSLCipherName(info.Cipher))
	case crules.FetchSSLFcUseKeysize, crules.FetchSSLFcAlgKeysize:
		use, alg := cipherKeyBits(info.Cipher)
		if e.fetch == crules.FetchSSLFcAlgKeysize {
			use = alg
		}
		if use > 0 {
			return intSample(int64(use)), true, true
		}
		return sample{}, false, true
	}
	if peer == nil {
		return sample{}, false, true
	}
	switch e.fetch {
	case crules.FetchSSLCSDN, crules.FetchSSLCIDN:
		raw := peer.RawSubject
		if e.fetch == crules.FetchSSLCIDN {
			raw = peer.RawIssuer
		}
		var rdns pkix.RDNSequence
		if rest, err := asn1.Unmarshal(raw, &rdns); err != nil || len(rest) > 0 {
			return sample{}, false, true
		}
		v, ok := dnValue(rdns, e.args)
		if !ok {
			return sample{}, false, true
		}
		return s.strOf(v)
	case crules.FetchSSLCSerial:
		return s.binOf(peer.SerialNumber.Bytes())
	case crules.FetchSSLCSHA1:
		sum := sha1.Sum(peer.Raw) //nolint:gosec // a fingerprint
		return s.binOf(sum[:])
	case crules.FetchSSLCDER:
		return s.binOf(peer.Raw)
	case crules.FetchSSLCNotBefore:
		return s.strOf(peer.NotBefore.UTC().Format("060102150405Z"))
	case crules.FetchSSLCNotAfter:
		return s.strOf(peer.NotAfter.UTC().Format("060102150405Z"))
	case crules.FetchSSLCVersion:
		return intSample(int64(peer.Version)), true, true
	case crules.FetchSSLCSigAlg:
		return s.strOf(sigAlgNames[peer.SignatureAlgorithm])
	case crules.FetchSSLCKeyAlg:
		return s.strOf(keyAlgNames[peer.PublicKeyAlgorithm])
	}
	return sample{}, false, false
}

func (s *State) strOf(v string) (sample, bool, bool) {
	if v == "" {
		return sample{}, false, true
	}
	b := s.alloc(len(v))
	copy(b, v)
	return strSample(b), true, true
}

func (s *State) binOf(v []byte) (sample, bool, bool) {
	b := s.alloc(len(v))
	copy(b, v)
	return sample{t: crules.TypeBin, b: b}, true, true
}

// dnValue is ssl_c_s_dn([entry[,occ[,format]]]): the value of the occ-th
// entry (from the end when negative; the first when occ is left out), or
// the whole DN in OpenSSL's one-line form, or in RFC 2253's.
func dnValue(rdns pkix.RDNSequence, args []arg) (string, bool) {
	argStr := func(i int) string {
		if i < len(args) {
			return args[i].str
		}
		return ""
	}
	if entry := argStr(0); entry != "" {
		pos := 1
		if len(args) > 1 && args[1].str != "" {
			pos = int(args[1].i)
		}
		return dnEntry(rdns, entry, pos)
	}
	if f := argStr(2); f != "" {
		if f != "rfc2253" {
			return "", false
		}
		return dnRFC2253(rdns), len(rdns) > 0
	}
	var b strings.Builder
	for _, rdn := range rdns {
		for _, atv := range rdn {
			b.WriteString("/" + attrName(atv.Type) + "=" + attrValue(atv))
		}
	}
	return b.String(), b.Len() > 0
}

// dnEntry finds the pos-th attribute named entry (case-insensitive),
// counting from the end when pos is negative, as ssl_sock_get_dn_entry.
func dnEntry(rdns pkix.RDNSequence, entry string, pos int) (string, bool) {
	var atvs []pkix.AttributeTypeAndValue
	for _, rdn := range rdns {
		atvs = append(atvs, rdn...)
	}
	cur := 0
	for i := range atvs {
		j := i
		if pos < 0 {
			j = len(atvs) - 1 - i
		}
		if !strings.EqualFold(attrName(atvs[j].Type), entry) {
			continue
		}
		if pos < 0 {
			cur--
		} else {
			cur++
		}
		if cur == pos {
			return attrValue(atvs[j]), true
		}
	}
	return "", false
}

// dnRFC2253 is OpenSSL's X509_NAME_print_ex with XN_FLAG_RFC2253: the
// RDNs last first, comma-separated, multi-valued ones joined by '+',
// short names, special characters escaped.
func dnRFC2253(rdns pkix.RDNSequence) string {
	var b strings.Builder
	for i := len(rdns) - 1; i >= 0; i-- {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		for k, atv := range rdns[i] {
			if k > 0 {
				b.WriteByte('+')
			}
			b.WriteString(attrName(atv.Type) + "=" + escape2253(attrValue(atv)))
		}
	}
	return b.String()
}

func escape2253(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case strings.IndexByte(",+\"\\<>;", c) >= 0,
			(c == '#' || c == ' ') && i == 0, c == ' ' && i == len(v)-1:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func attrValue(atv pkix.AttributeTypeAndValue) string {
	if s, ok := atv.Value.(string); ok {
		return s
	}
	return fmt.Sprint(atv.Value)
}

// attrName is OpenSSL's short name of an attribute type (OBJ_nid2sn), or
// its dotted form for one OpenSSL does not name.
func attrName(oid asn1.ObjectIdentifier) string {
	if n, ok := attrNames[oid.String()]; ok {
		return n
	}
	return oid.String()
}

var attrNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.4": "SN", "2.5.4.5": "serialNumber", "2.5.4.6": "C", "2.5.4.7": "L",
	"2.5.4.8": "ST", "2.5.4.9": "street", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "title",
	"2.5.4.13": "description", "2.5.4.15": "businessCategory", "2.5.4.17": "postalCode",
	"2.5.4.42": "GN", "2.5.4.43": "initials", "2.5.4.44": "generationQualifier", "2.5.4.46": "dnQualifier",
	"2.5.4.65": "pseudonym", "2.5.4.97": "organizationIdentifier",
	"1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
	"1.3.6.1.4.1.311.60.2.1.1": "jurisdictionL", "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionST",
	"1.3.6.1.4.1.311.60.2.1.3": "jurisdictionC",
}

// sigAlgNames and keyAlgNames are OpenSSL's short names (OBJ_nid2sn).
var sigAlgNames = map[x509.SignatureAlgorithm]string{
	x509.SHA1WithRSA: "RSA-SHA1", x509.SHA256WithRSA: "RSA-SHA256", x509.SHA384WithRSA: "RSA-SHA384",
	x509.SHA512WithRSA: "RSA-SHA512", x509.SHA256WithRSAPSS: "RSASSA-PSS", x509.SHA384WithRSAPSS: "RSASSA-PSS",
	x509.SHA512WithRSAPSS: "RSASSA-PSS", x509.ECDSAWithSHA1: "ecdsa-with-SHA1", x509.ECDSAWithSHA256: "ecdsa-with-SHA256",
	x509.ECDSAWithSHA384: "ecdsa-with-SHA384", x509.ECDSAWithSHA512: "ecdsa-with-SHA512", x509.PureEd25519: "ED25519",
}

var keyAlgNames = map[x509.PublicKeyAlgorithm]string{
	x509.RSA: "rsaEncryption", x509.ECDSA: "id-ecPublicKey", x509.Ed25519: "ED25519",
}

// cipherKeyBits are a suite's symmetric key bits as OpenSSL counts them:
// those in use (its strength) and the algorithm's (ssl_fc_use_keysize,
// ssl_fc_alg_keysize).
func cipherKeyBits(id uint16) (use, alg int) {
	name := tls.CipherSuiteName(id)
	switch {
	case strings.Contains(name, "AES_128"):
		return 128, 128
	case strings.Contains(name, "AES_256"), strings.Contains(name, "CHACHA20"):
		return 256, 256
	case strings.Contains(name, "3DES"):
		return 112, 168
	}
	return 0, 0
}
