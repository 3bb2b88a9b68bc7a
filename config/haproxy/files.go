package haproxy

import (
	"errors"
	"io/fs"
	"path"
	"regexp"
	"strings"
)

// FS reads the files a haproxy.cfg names (maps, ACL pattern files, error
// files, certificate directories), by the path written in the cfg. The
// caller decides what a relative path is relative to; cmd/tandem takes the
// cfg's own directory.
type FS interface {
	ReadFile(name string) ([]byte, error)
	ReadDir(name string) ([]fs.DirEntry, error)
}

// FromFS adapts an fs.FS, whose names have no leading slash, to FS:
// "/etc/haproxy/hosts.map" is read as "etc/haproxy/hosts.map", and a
// relative name is first joined to base ("/etc/haproxy"). cmd/tandem
// passes os.DirFS("/") and the cfg's directory; tests pass an fstest.MapFS.
func FromFS(fsys fs.FS, base string) FS { return rootedFS{fsys: fsys, base: base} }

type rootedFS struct {
	fsys fs.FS
	base string
}

func (r rootedFS) name(n string) (string, error) {
	if !path.IsAbs(n) {
		n = path.Join(r.base, n)
	}
	n = strings.TrimPrefix(path.Clean(n), "/")
	if n == "" {
		n = "."
	}
	if !fs.ValidPath(n) {
		return "", &fs.PathError{Op: "open", Path: n, Err: fs.ErrInvalid}
	}
	return n, nil
}

func (r rootedFS) ReadFile(n string) ([]byte, error) {
	name, err := r.name(n)
	if err != nil {
		return nil, err
	}
	return fs.ReadFile(r.fsys, name)
}

func (r rootedFS) ReadDir(n string) ([]fs.DirEntry, error) {
	name, err := r.name(n)
	if err != nil {
		return nil, err
	}
	return fs.ReadDir(r.fsys, name)
}

// errNoFS is what reading a file is when the caller gave no FS.
var errNoFS = errors.New("no file access was given to the importer")

// fileRef is a file some kept or dropped section needs.
type fileRef struct {
	path  string
	owner *proxy // nil: needed whatever happens to sections
}

// converterFileRE finds the file argument of the converters and actions
// that read a map or an ACL file: map(FILE[,DEFAULT]), map_str(FILE),
// map_beg_int(FILE), set-map(FILE), add-acl(FILE) ...
var converterFileRE = regexp.MustCompile(`(?:^|[^A-Za-z0-9_.-])(map(?:_[a-z0-9]+){0,2}|set-map|del-map|add-acl|del-acl)\(\s*("[^"]*"|'[^']*'|[^,)]*)`)

// scanFiles finds the files a rule's, an ACL's or a use_backend's words
// name and reads each into the cluster config: "-f FILE" pattern files
// (ACL flags), the maps of map converters, and for actions that answer
// ("return", "deny", "tarpit") their "file", "lf-file" and "errorfile" bodies.
func (p *parser) scanFiles(px *proxy, num int, words []string, isRule bool) {
	for i, w := range words {
		if w == "-f" && i+1 < len(words) {
			p.loadFile(px, num, words[i+1], "pattern file")
		}
		for _, m := range converterFileRE.FindAllStringSubmatch(w, -1) {
			name := strings.Trim(m[2], `"'`)
			if name != "" {
				p.loadFile(px, num, name, "map file")
			}
		}
	}
	if !isRule || len(words) == 0 {
		return
	}
	switch words[0] {
	case "return", "deny", "tarpit":
	default:
		return
	}
	action, _, _ := splitCond(words)
	for i := 1; i+1 < len(action); i++ {
		switch action[i] {
		case "file", "lf-file", "errorfile":
			p.loadFile(px, num, action[i+1], "response file")
			i++
		case "errorfiles":
			p.refusef(px, num, "'%s ... errorfiles %s': HAProxy answers with a file of http-errors section '%s'; tandem carries http-errors sections only through the errorfiles keyword", words[0], action[i+1], action[i+1])
			i++
		}
	}
}

// loadFile reads a file the cfg names into the cluster config, once; what
// says which kind of file it is, for the error. The file goes into the
// config if the section px is kept.
func (p *parser) loadFile(px *proxy, num int, name, what string) {
	if p.readFile(px, num, name, what) {
		p.fileRefs = append(p.fileRefs, fileRef{name, px})
	}
}

// readFile reads a file once and reports whether it could.
func (p *parser) readFile(px *proxy, num int, name, what string) bool {
	if _, ok := p.files[name]; ok {
		return true
	}
	var data []byte
	err := errNoFS
	if p.opts.Files != nil {
		data, err = p.opts.Files.ReadFile(name)
	}
	if err != nil {
		p.errorf(px, num, "%s '%s': cannot read it (%v); tandem carries map, pattern and error files in the cluster config, so the importer must read them", what, name, err)
		return false
	}
	p.files[name] = string(data)
	return true
}

// defaultPathFS reads relative names from the parser's default-path, as
// HAProxy chdir()s there while it reads the cfg.
type defaultPathFS struct {
	p  *parser
	fs FS
}

func (d defaultPathFS) name(n string) string {
	if d.p.defaultPath != "" && !path.IsAbs(n) {
		return path.Join(d.p.defaultPath, n)
	}
	return n
}

func (d defaultPathFS) ReadFile(n string) ([]byte, error)       { return d.fs.ReadFile(d.name(n)) }
func (d defaultPathFS) ReadDir(n string) ([]fs.DirEntry, error) { return d.fs.ReadDir(d.name(n)) }

// globalDefaultPath reads "default-path current|config|parent|origin DIR".
func (p *parser) globalDefaultPath(l line) {
	cfgDir := p.opts.ConfigDir
	if cfgDir == "" {
		cfgDir = path.Dir(p.file)
	}
	switch arg := append(l.args, "")[0]; {
	case arg == "current" && len(l.args) == 1:
		p.defaultPath = ""
	case arg == "config" && len(l.args) == 1:
		p.defaultPath = cfgDir
	case arg == "parent" && len(l.args) == 1:
		p.defaultPath = path.Join(cfgDir, "..")
	case arg == "origin" && len(l.args) == 2:
		p.defaultPath = l.args[1]
	default:
		p.errorf(nil, l.num, "'default-path' wants current, config, parent or origin <dir>")
	}
}
