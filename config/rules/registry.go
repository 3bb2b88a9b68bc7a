package rules

// ArgKind is the kind of one argument of a fetch or converter; the parser
// checks and the checker resolves each kind.
type ArgKind uint8

const (
	ArgStr      ArgKind = iota + 1 // any string
	ArgInt                         // a signed integer
	ArgBackend                     // a backend name
	ArgServer                      // "server" (current backend) or "backend/server"
	ArgUserlist                    // a userlist name
	ArgFile                        // a map file: a name in the cluster config's files
	ArgRegex                       // a regular expression
	ArgVar                         // a variable name: "txn.name", "req.x", "res.x", "sess.x"
	ArgIntOrVar                    // an integer or a variable name
	ArgMask                        // an IPv4 mask: bit count or dotted
	ArgMask6                       // an IPv6 mask: bit count
	ArgUnit                        // a time unit: s, ms or us
)

// Fetch names a sample fetch method; the engine implements each one.
type Fetch uint16

const (
	FetchAlwaysFalse Fetch = iota + 1
	FetchAlwaysTrue
	FetchStr
	FetchInt
	FetchBool
	FetchIPv4
	FetchIPv6
	FetchVar
	FetchNbsrv
	FetchSrvIsUp
	FetchBeName
	FetchFeName
	FetchSrvName
	FetchSrc
	FetchSrcPort
	FetchDst
	FetchDstPort
	FetchSSLFc
	FetchSSLFcSNI
	FetchSSLFcALPN
	FetchSSLFcProtocol
	FetchReqLen
	FetchReqPayload
	FetchReqSSLSNI
	FetchReqSSLHelloType
	FetchReqSSLALPN
	FetchBase
	FetchReqCook
	FetchReqCookCnt
	FetchReqCookVal
	FetchReqHdr
	FetchReqFhdr
	FetchReqHdrCnt
	FetchReqFhdrCnt
	FetchReqHdrIP
	FetchReqHdrVal
	FetchMethod
	FetchPath
	FetchPathq
	FetchQuery
	FetchURL
	FetchURLParam
	FetchURLParamVal
	FetchURLPort
	FetchReqVer
	FetchHTTPAuth
	FetchHTTPAuthGroup
	FetchHTTPAuthUser
	FetchHTTPAuthType
	FetchHTTPAuthPass
	FetchReqProtoHTTP
	FetchCaptureReqURI
	FetchCaptureReqMethod
	FetchCaptureReqVer
	FetchStatus
	FetchResHdr
	FetchResFhdr
	FetchResHdrCnt
	FetchResFhdrCnt
	FetchResHdrIP
	FetchResHdrVal
	FetchResCook
	FetchResCookCnt
	FetchResVer
	FetchReqHdrs
	FetchDate
	FetchSSLCUsed
	FetchSSLCVerify
	FetchSSLCErr
	FetchSSLCCaErr
	FetchSSLCCaErrDepth
	FetchSSLCSDN
	FetchSSLCIDN
	FetchSSLCSerial
	FetchSSLCSHA1
	FetchSSLCDER
	FetchSSLCNotBefore
	FetchSSLCNotAfter
	FetchSSLCVersion
	FetchSSLCSigAlg
	FetchSSLCKeyAlg
	FetchSSLFcHasCrt
	FetchSSLFcHasSNI
	FetchSSLFcCipher
	FetchSSLFcUseKeysize
	FetchSSLFcAlgKeysize
	FetchSSLFcIsResumed
	fetchDirectional // "hdr", "cookie": request or response by stage (resolved by the parser)
)

// FetchDef describes one fetch method (configuration.txt 7.3.2-7.3.6).
type FetchDef struct {
	Name    string
	ID      Fetch
	Args    []ArgKind
	MinArgs int
	Out     Type
	Src     Source
	// Req and Res are the fetches "hdr" and "cookie" stand for in request
	// and response stages (they read the current direction's head).
	Req, Res Fetch
}

// httpReq/httpRes are the sources of request/response head fetches.
const (
	httpReq = SrcHRQHV
	httpRes = SrcHRSHV
)

var fetchDefs = []FetchDef{
	{Name: "always_false", ID: FetchAlwaysFalse, Out: TypeBool, Src: SrcConst},
	{Name: "date", ID: FetchDate, Args: []ArgKind{ArgInt, ArgUnit}, Out: TypeInt, Src: SrcConst},
	{Name: "always_true", ID: FetchAlwaysTrue, Out: TypeBool, Src: SrcConst},
	{Name: "str", ID: FetchStr, Args: []ArgKind{ArgStr}, MinArgs: 1, Out: TypeStr, Src: SrcConst},
	{Name: "int", ID: FetchInt, Args: []ArgKind{ArgInt}, MinArgs: 1, Out: TypeInt, Src: SrcConst},
	{Name: "bool", ID: FetchBool, Args: []ArgKind{ArgStr}, MinArgs: 1, Out: TypeBool, Src: SrcConst},
	{Name: "ipv4", ID: FetchIPv4, Args: []ArgKind{ArgStr}, MinArgs: 1, Out: TypeAddr, Src: SrcConst},
	{Name: "ipv6", ID: FetchIPv6, Args: []ArgKind{ArgStr}, MinArgs: 1, Out: TypeAddr, Src: SrcConst},
	{Name: "var", ID: FetchVar, Args: []ArgKind{ArgVar, ArgStr}, MinArgs: 1, Out: TypeAny, Src: SrcConst},
	{Name: "nbsrv", ID: FetchNbsrv, Args: []ArgKind{ArgBackend}, Out: TypeInt, Src: SrcIntrn},
	{Name: "srv_is_up", ID: FetchSrvIsUp, Args: []ArgKind{ArgServer}, MinArgs: 1, Out: TypeBool, Src: SrcIntrn},
	{Name: "be_name", ID: FetchBeName, Out: TypeStr, Src: SrcBkend},
	{Name: "fe_name", ID: FetchFeName, Out: TypeStr, Src: SrcConst},
	{Name: "srv_name", ID: FetchSrvName, Out: TypeStr, Src: SrcServr},
	{Name: "src", ID: FetchSrc, Out: TypeAddr, Src: SrcL4Cli},
	{Name: "src_port", ID: FetchSrcPort, Out: TypeInt, Src: SrcL4Cli},
	{Name: "dst", ID: FetchDst, Out: TypeAddr, Src: SrcL4Cli},
	{Name: "dst_port", ID: FetchDstPort, Out: TypeInt, Src: SrcL4Cli},
	{Name: "ssl_fc", ID: FetchSSLFc, Out: TypeBool, Src: SrcL5Cli},
	{Name: "ssl_fc_sni", ID: FetchSSLFcSNI, Out: TypeStr, Src: SrcL5Cli},
	{Name: "ssl_fc_alpn", ID: FetchSSLFcALPN, Out: TypeStr, Src: SrcL5Cli},
	{Name: "ssl_fc_protocol", ID: FetchSSLFcProtocol, Out: TypeStr, Src: SrcL5Cli},
	{Name: "ssl_fc_has_crt", ID: FetchSSLFcHasCrt, Out: TypeBool, Src: SrcL5Cli},
	{Name: "ssl_fc_has_sni", ID: FetchSSLFcHasSNI, Out: TypeBool, Src: SrcL5Cli},
	{Name: "ssl_fc_cipher", ID: FetchSSLFcCipher, Out: TypeStr, Src: SrcL5Cli},
	{Name: "ssl_fc_use_keysize", ID: FetchSSLFcUseKeysize, Out: TypeInt, Src: SrcL5Cli},
	{Name: "ssl_fc_alg_keysize", ID: FetchSSLFcAlgKeysize, Out: TypeInt, Src: SrcL5Cli},
	{Name: "ssl_fc_is_resumed", ID: FetchSSLFcIsResumed, Out: TypeBool, Src: SrcL5Cli},
	{Name: "ssl_c_used", ID: FetchSSLCUsed, Out: TypeBool, Src: SrcL5Cli},
	{Name: "ssl_c_verify", ID: FetchSSLCVerify, Out: TypeInt, Src: SrcL5Cli},
	{Name: "ssl_c_err", ID: FetchSSLCErr, Out: TypeInt, Src: SrcL5Cli},
	{Name: "ssl_c_ca_err", ID: FetchSSLCCaErr, Out: TypeInt, Src: SrcL5Cli},
	{Name: "ssl_c_ca_err_depth", ID: FetchSSLCCaErrDepth, Out: TypeInt, Src: SrcL5Cli},
	{Name: "ssl_c_s_dn", ID: FetchSSLCSDN, Args: []ArgKind{ArgStr, ArgInt, ArgStr}, Out: TypeStr, Src: SrcL5Cli},
	{Name: "ssl_c_i_dn", ID: FetchSSLCIDN, Args: []ArgKind{ArgStr, ArgInt, ArgStr}, Out: TypeStr, Src: SrcL5Cli},
	{Name: "ssl_c_serial", ID: FetchSSLCSerial, Out: TypeBin, Src: SrcL5Cli},
	{Name: "ssl_c_sha1", ID: FetchSSLCSHA1, Out: TypeBin, Src: SrcL5Cli},
	{Name: "ssl_c_der", ID: FetchSSLCDER, Out: TypeBin, Src: SrcL5Cli},
	{Name: "ssl_c_notbefore", ID: FetchSSLCNotBefore, Out: TypeStr, Src: SrcL5Cli},
	{Name: "ssl_c_notafter", ID: FetchSSLCNotAfter, Out: TypeStr, Src: SrcL5Cli},
	{Name: "ssl_c_version", ID: FetchSSLCVersion, Out: TypeInt, Src: SrcL5Cli},
	{Name: "ssl_c_sig_alg", ID: FetchSSLCSigAlg, Out: TypeStr, Src: SrcL5Cli},
	{Name: "ssl_c_key_alg", ID: FetchSSLCKeyAlg, Out: TypeStr, Src: SrcL5Cli},
	{Name: "req.len", ID: FetchReqLen, Out: TypeInt, Src: SrcL6Req},
	{Name: "req_len", ID: FetchReqLen, Out: TypeInt, Src: SrcL6Req},
	{Name: "req.payload", ID: FetchReqPayload, Args: []ArgKind{ArgInt, ArgInt}, MinArgs: 2, Out: TypeBin, Src: SrcL6Req},
	{Name: "req.ssl_sni", ID: FetchReqSSLSNI, Out: TypeStr, Src: SrcL6Req},
	{Name: "req_ssl_sni", ID: FetchReqSSLSNI, Out: TypeStr, Src: SrcL6Req},
	{Name: "req.ssl_hello_type", ID: FetchReqSSLHelloType, Out: TypeInt, Src: SrcL6Req},
	{Name: "req_ssl_hello_type", ID: FetchReqSSLHelloType, Out: TypeInt, Src: SrcL6Req},
	{Name: "req.ssl_alpn", ID: FetchReqSSLALPN, Out: TypeStr, Src: SrcL6Req},
	{Name: "base", ID: FetchBase, Out: TypeStr, Src: httpReq},
	{Name: "cook", ID: FetchReqCook, Args: []ArgKind{ArgStr}, Out: TypeStr, Src: httpReq},
	{Name: "req.cook", ID: FetchReqCook, Args: []ArgKind{ArgStr}, Out: TypeStr, Src: httpReq},
	{Name: "cook_cnt", ID: FetchReqCookCnt, Args: []ArgKind{ArgStr}, Out: TypeInt, Src: httpReq},
	{Name: "req.cook_cnt", ID: FetchReqCookCnt, Args: []ArgKind{ArgStr}, Out: TypeInt, Src: httpReq},
	{Name: "cook_val", ID: FetchReqCookVal, Args: []ArgKind{ArgStr}, Out: TypeInt, Src: httpReq},
	{Name: "req.cook_val", ID: FetchReqCookVal, Args: []ArgKind{ArgStr}, Out: TypeInt, Src: httpReq},
	{Name: "cookie", ID: fetchDirectional, Args: []ArgKind{ArgStr}, Out: TypeStr, Src: httpReq | httpRes, Req: FetchReqCook, Res: FetchResCook},
	{Name: "hdr", ID: fetchDirectional, Args: []ArgKind{ArgStr, ArgInt}, Out: TypeStr, Src: httpReq | httpRes, Req: FetchReqHdr, Res: FetchResHdr},
	{Name: "req.hdr", ID: FetchReqHdr, Args: []ArgKind{ArgStr, ArgInt}, Out: TypeStr, Src: httpReq},
	{Name: "req.fhdr", ID: FetchReqFhdr, Args: []ArgKind{ArgStr, ArgInt}, Out: TypeStr, Src: httpReq},
	{Name: "hdr_cnt", ID: FetchReqHdrCnt, Args: []ArgKind{ArgStr}, Out: TypeInt, Src: httpReq},
	{Name: "req.hdr_cnt", ID: FetchReqHdrCnt, Args: []ArgKind{ArgStr}, Out: TypeInt, Src: httpReq},
	{Name: "req.fhdr_cnt", ID: FetchReqFhdrCnt, Args: []ArgKind{ArgStr}, Out: TypeInt, Src: httpReq},
	{Name: "hdr_ip", ID: FetchReqHdrIP, Args: []ArgKind{ArgStr, ArgInt}, Out: TypeAddr, Src: httpReq},
	{Name: "req.hdr_ip", ID: FetchReqHdrIP, Args: []ArgKind{ArgStr, ArgInt}, Out: TypeAddr, Src: httpReq},
	{Name: "hdr_val", ID: FetchReqHdrVal, Args: []ArgKind{ArgStr, ArgInt}, Out: TypeInt, Src: httpReq},
	{Name: "req.hdr_val", ID: FetchReqHdrVal, Args: []ArgKind{ArgStr, ArgInt}, Out: TypeInt, Src: httpReq},
	{Name: "method", ID: FetchMethod, Out: TypeMeth, Src: SrcHRQHP},
	{Name: "path", ID: FetchPath, Out: TypeStr, Src: httpReq},
	{Name: "pathq", ID: FetchPathq, Out: TypeStr, Src: httpReq},
	{Name: "query", ID: FetchQuery, Out: TypeStr, Src: httpReq},
	{Name: "url", ID: FetchURL, Out: TypeStr, Src: httpReq},
	{Name: "url_param", ID: FetchURLParam, Args: []ArgKind{ArgStr, ArgStr}, Out: TypeStr, Src: httpReq},
	{Name: "urlp", ID: FetchURLParam, Args: []ArgKind{ArgStr, ArgStr}, Out: TypeStr, Src: httpReq},
	{Name: "urlp_val", ID: FetchURLParamVal, Args: []ArgKind{ArgStr, ArgStr}, Out: TypeInt, Src: httpReq},
	{Name: "url_port", ID: FetchURLPort, Out: TypeInt, Src: httpReq},
	{Name: "req.ver", ID: FetchReqVer, Out: TypeStr, Src: httpReq},
	{Name: "req.hdrs", ID: FetchReqHdrs, Out: TypeBin, Src: httpReq},
	{Name: "req_ver", ID: FetchReqVer, Out: TypeStr, Src: httpReq},
	{Name: "http_auth", ID: FetchHTTPAuth, Args: []ArgKind{ArgUserlist}, MinArgs: 1, Out: TypeBool, Src: httpReq},
	{Name: "http_auth_group", ID: FetchHTTPAuthGroup, Args: []ArgKind{ArgUserlist}, MinArgs: 1, Out: TypeStr, Src: httpReq},
	{Name: "http_auth_user", ID: FetchHTTPAuthUser, Out: TypeStr, Src: httpReq},
	{Name: "http_auth_type", ID: FetchHTTPAuthType, Out: TypeStr, Src: httpReq},
	{Name: "http_auth_pass", ID: FetchHTTPAuthPass, Out: TypeStr, Src: httpReq},
	{Name: "req.proto_http", ID: FetchReqProtoHTTP, Out: TypeBool, Src: SrcHRQHP},
	{Name: "req_proto_http", ID: FetchReqProtoHTTP, Out: TypeBool, Src: SrcHRQHP},
	{Name: "capture.req.uri", ID: FetchCaptureReqURI, Out: TypeStr, Src: SrcHRQHP},
	{Name: "capture.req.method", ID: FetchCaptureReqMethod, Out: TypeStr, Src: SrcHRQHP},
	{Name: "capture.req.ver", ID: FetchCaptureReqVer, Out: TypeStr, Src: SrcHRQHP},
	{Name: "status", ID: FetchStatus, Out: TypeInt, Src: SrcHRSHP},
	{Name: "res.hdr", ID: FetchResHdr, Args: []ArgKind{ArgStr, ArgInt}, Out: TypeStr, Src: httpRes},
	{Name: "shdr", ID: FetchResHdr, Args: []ArgKind{ArgStr, ArgInt}, Out: TypeStr, Src: httpRes},
	{Name: "res.fhdr", ID: FetchResFhdr, Args: []ArgKind{ArgStr, ArgInt}, Out: TypeStr, Src: httpRes},
	{Name: "res.hdr_cnt", ID: FetchResHdrCnt, Args: []ArgKind{ArgStr}, Out: TypeInt, Src: httpRes},
	{Name: "shdr_cnt", ID: FetchResHdrCnt, Args: []ArgKind{ArgStr}, Out: TypeInt, Src: httpRes},
	{Name: "res.fhdr_cnt", ID: FetchResFhdrCnt, Args: []ArgKind{ArgStr}, Out: TypeInt, Src: httpRes},
	{Name: "res.hdr_ip", ID: FetchResHdrIP, Args: []ArgKind{ArgStr, ArgInt}, Out: TypeAddr, Src: httpRes},
	{Name: "shdr_ip", ID: FetchResHdrIP, Args: []ArgKind{ArgStr, ArgInt}, Out: TypeAddr, Src: httpRes},
	{Name: "res.hdr_val", ID: FetchResHdrVal, Args: []ArgKind{ArgStr, ArgInt}, Out: TypeInt, Src: httpRes},
	{Name: "shdr_val", ID: FetchResHdrVal, Args: []ArgKind{ArgStr, ArgInt}, Out: TypeInt, Src: httpRes},
	{Name: "res.cook", ID: FetchResCook, Args: []ArgKind{ArgStr}, Out: TypeStr, Src: httpRes},
	{Name: "scook", ID: FetchResCook, Args: []ArgKind{ArgStr}, Out: TypeStr, Src: httpRes},
	{Name: "res.cook_cnt", ID: FetchResCookCnt, Args: []ArgKind{ArgStr}, Out: TypeInt, Src: httpRes},
	{Name: "scook_cnt", ID: FetchResCookCnt, Args: []ArgKind{ArgStr}, Out: TypeInt, Src: httpRes},
	{Name: "res.ver", ID: FetchResVer, Out: TypeStr, Src: httpRes},
	{Name: "resp_ver", ID: FetchResVer, Out: TypeStr, Src: httpRes},
}

// aclKeyword is an ACL-only criterion: a fetch with an implied match
// method, e.g. "hdr_beg" is req.hdr with -m beg (http_acl.c, payload.c).
type aclKeyword struct {
	fetch string
	match Match
}

var aclKeywords = func() map[string]aclKeyword {
	kws := map[string]aclKeyword{
		"method":          {"method", MatchMeth},
		"http_auth_group": {"http_auth_group", MatchGroup},
		"req_ver":         {"req.ver", MatchStr},
		"resp_ver":        {"res.ver", MatchStr},
		"req_ssl_sni":     {"req.ssl_sni", MatchStr},
	}
	// base_beg, cook_dom, hdr_end, path_reg, ...: every combination of
	// these fetches with these methods (configuration.txt 7.3.6).
	families := map[string]string{
		"base": "base", "cook": "req.cook", "hdr": "req.hdr", "path": "path",
		"scook": "res.cook", "shdr": "res.hdr", "url": "url", "urlp": "urlp",
	}
	suffixes := map[string]Match{
		"": MatchStr, "_beg": MatchBeg, "_dir": MatchDir, "_dom": MatchDom,
		"_end": MatchEnd, "_len": MatchLen, "_reg": MatchReg, "_sub": MatchSub,
	}
	for fam, fetch := range families {
		for suf, m := range suffixes {
			kws[fam+suf] = aclKeyword{fetch, m}
		}
	}
	return kws
}()

// Conv names a converter; the engine implements each one.
type Conv uint16

const (
	ConvLower Conv = iota + 1
	ConvUpper
	ConvMap
	ConvBase64
	ConvB64Dec
	ConvHex
	ConvLength
	ConvBytes
	ConvField
	ConvWord
	ConvRegsub
	ConvConcat
	ConvLtrim
	ConvRtrim
	ConvURLDec
	ConvIPMask
	ConvAdd
	ConvSub
	ConvMul
	ConvDiv
	ConvMod
	ConvNeg
	ConvBool
	ConvNot
	ConvOdd
	ConvEven
	ConvAnd
	ConvOr
	ConvXor
	ConvCpl
	ConvSetVar
	ConvUnsetVar
	ConvIif
	ConvStrcmp
	ConvHostOnly
	ConvPortOnly
	ConvHTTPDate
)

// ConvDef describes one converter (configuration.txt 7.3.1).
type ConvDef struct {
	Name    string
	ID      Conv
	Args    []ArgKind
	MinArgs int
	In, Out Type
	// MapMatch is how a map converter looks its input up (map_beg: MatchBeg).
	MapMatch Match
}

var convDefs = func() []ConvDef {
	defs := []ConvDef{
		{Name: "lower", ID: ConvLower, In: TypeStr, Out: TypeStr},
		{Name: "upper", ID: ConvUpper, In: TypeStr, Out: TypeStr},
		{Name: "base64", ID: ConvBase64, In: TypeBin, Out: TypeStr},
		{Name: "b64dec", ID: ConvB64Dec, In: TypeStr, Out: TypeBin},
		{Name: "hex", ID: ConvHex, In: TypeBin, Out: TypeStr},
		{Name: "length", ID: ConvLength, In: TypeStr, Out: TypeInt},
		{Name: "bytes", ID: ConvBytes, Args: []ArgKind{ArgInt, ArgInt}, MinArgs: 1, In: TypeBin, Out: TypeBin},
		{Name: "field", ID: ConvField, Args: []ArgKind{ArgInt, ArgStr, ArgInt}, MinArgs: 2, In: TypeStr, Out: TypeStr},
		{Name: "word", ID: ConvWord, Args: []ArgKind{ArgInt, ArgStr, ArgInt}, MinArgs: 2, In: TypeStr, Out: TypeStr},
		{Name: "regsub", ID: ConvRegsub, Args: []ArgKind{ArgRegex, ArgStr, ArgStr}, MinArgs: 2, In: TypeStr, Out: TypeStr},
		{Name: "concat", ID: ConvConcat, Args: []ArgKind{ArgStr, ArgVar, ArgStr}, In: TypeStr, Out: TypeStr},
		{Name: "ltrim", ID: ConvLtrim, Args: []ArgKind{ArgStr}, MinArgs: 1, In: TypeStr, Out: TypeStr},
		{Name: "rtrim", ID: ConvRtrim, Args: []ArgKind{ArgStr}, MinArgs: 1, In: TypeStr, Out: TypeStr},
		{Name: "url_dec", ID: ConvURLDec, Args: []ArgKind{ArgInt}, In: TypeStr, Out: TypeStr},
		{Name: "ipmask", ID: ConvIPMask, Args: []ArgKind{ArgMask, ArgMask6}, MinArgs: 1, In: TypeAddr, Out: TypeAddr},
		{Name: "add", ID: ConvAdd, Args: []ArgKind{ArgIntOrVar}, MinArgs: 1, In: TypeInt, Out: TypeInt},
		{Name: "sub", ID: ConvSub, Args: []ArgKind{ArgIntOrVar}, MinArgs: 1, In: TypeInt, Out: TypeInt},
		{Name: "mul", ID: ConvMul, Args: []ArgKind{ArgIntOrVar}, MinArgs: 1, In: TypeInt, Out: TypeInt},
		{Name: "div", ID: ConvDiv, Args: []ArgKind{ArgIntOrVar}, MinArgs: 1, In: TypeInt, Out: TypeInt},
		{Name: "mod", ID: ConvMod, Args: []ArgKind{ArgIntOrVar}, MinArgs: 1, In: TypeInt, Out: TypeInt},
		{Name: "and", ID: ConvAnd, Args: []ArgKind{ArgIntOrVar}, MinArgs: 1, In: TypeInt, Out: TypeInt},
		{Name: "or", ID: ConvOr, Args: []ArgKind{ArgIntOrVar}, MinArgs: 1, In: TypeInt, Out: TypeInt},
		{Name: "xor", ID: ConvXor, Args: []ArgKind{ArgIntOrVar}, MinArgs: 1, In: TypeInt, Out: TypeInt},
		{Name: "neg", ID: ConvNeg, In: TypeInt, Out: TypeInt},
		{Name: "cpl", ID: ConvCpl, In: TypeInt, Out: TypeInt},
		{Name: "bool", ID: ConvBool, In: TypeInt, Out: TypeBool},
		{Name: "not", ID: ConvNot, In: TypeInt, Out: TypeBool},
		{Name: "odd", ID: ConvOdd, In: TypeInt, Out: TypeBool},
		{Name: "even", ID: ConvEven, In: TypeInt, Out: TypeBool},
		{Name: "set-var", ID: ConvSetVar, Args: []ArgKind{ArgVar}, MinArgs: 1, In: TypeAny, Out: TypeAny},
		{Name: "unset-var", ID: ConvUnsetVar, Args: []ArgKind{ArgVar}, MinArgs: 1, In: TypeAny, Out: TypeAny},
		{Name: "iif", ID: ConvIif, Args: []ArgKind{ArgStr, ArgStr}, MinArgs: 2, In: TypeBool, Out: TypeStr},
		{Name: "strcmp", ID: ConvStrcmp, Args: []ArgKind{ArgVar}, MinArgs: 1, In: TypeStr, Out: TypeInt},
		{Name: "host_only", ID: ConvHostOnly, In: TypeStr, Out: TypeStr},
		{Name: "port_only", ID: ConvPortOnly, In: TypeStr, Out: TypeInt},
		{Name: "http_date", ID: ConvHTTPDate, Args: []ArgKind{ArgInt, ArgUnit}, In: TypeInt, Out: TypeStr},
	}
	// map, map_str, map_beg_int, map_ip_ip, ...: configuration.txt 7.3.1
	// "map_<match_type>_<output_type>".
	methods := []struct {
		name string
		m    Match
		in   Type
	}{
		{"str", MatchStr, TypeStr}, {"beg", MatchBeg, TypeStr}, {"sub", MatchSub, TypeStr},
		{"dir", MatchDir, TypeStr}, {"dom", MatchDom, TypeStr}, {"end", MatchEnd, TypeStr},
		{"reg", MatchReg, TypeStr}, {"regm", MatchRegm, TypeStr}, {"int", MatchInt, TypeInt},
		{"ip", MatchIP, TypeAddr},
	}
	outs := []struct {
		suffix string
		t      Type
		def    ArgKind
	}{{"", TypeStr, ArgStr}, {"_str", TypeStr, ArgStr}, {"_int", TypeInt, ArgInt}, {"_ip", TypeAddr, ArgStr}}
	for _, m := range methods {
		for _, o := range outs {
			if m.m == MatchRegm && o.t != TypeStr {
				continue // map_regm only returns strings
			}
			defs = append(defs, ConvDef{Name: "map_" + m.name + o.suffix, ID: ConvMap,
				Args: []ArgKind{ArgFile, o.def}, MinArgs: 1, In: m.in, Out: o.t, MapMatch: m.m})
		}
	}
	defs = append(defs, ConvDef{Name: "map", ID: ConvMap, Args: []ArgKind{ArgFile, ArgStr}, MinArgs: 1,
		In: TypeStr, Out: TypeStr, MapMatch: MatchStr})
	return defs
}()

var (
	fetchByName = index(fetchDefs, func(d *FetchDef) string { return d.Name })
	convByName  = index(convDefs, func(d *ConvDef) string { return d.Name })
)

func index[T any](defs []T, name func(*T) string) map[string]*T {
	m := make(map[string]*T, len(defs))
	for i := range defs {
		m[name(&defs[i])] = &defs[i]
	}
	return m
}

// LookupFetch returns the fetch named name, or nil.
func LookupFetch(name string) *FetchDef { return fetchByName[name] }

// LookupConv returns the converter named name, or nil.
func LookupConv(name string) *ConvDef { return convByName[name] }
