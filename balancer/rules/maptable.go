package rules

import (
	crules "github.com/tandem-lb/tandem/config/rules"
)

// mapTable is a compiled map file for one converter kind: an index over
// its keys and the values as samples of the output type.
type mapTable struct {
	idx    index
	out    crules.Type
	regm   bool
	vals   []sample
	tmpls  [][]byte // map_regm: values as regexp templates
	regIdx *regIndex
}

func (cc *compiler) mapTable(file string, def *crules.ConvDef) *mapTable {
	key := file + "\x00" + def.MapMatch.String() + "\x00" + def.Out.String()
	if m, ok := cc.maps[key]; ok {
		return m
	}
	if cc.maps == nil {
		cc.maps = map[string]*mapTable{}
	}
	parsed, err := crules.ParseMap(cc.files[file], def.MapMatch, def.Out)
	if err != nil {
		// Check parsed the same file for the same converter: unreachable.
		panic("rules: map " + file + " changed between check and compile: " + err.Error())
	}
	keys := make([]crules.Pattern, len(parsed.Items))
	m := &mapTable{out: def.Out, regm: def.MapMatch == crules.MatchRegm}
	for i, it := range parsed.Items {
		keys[i] = it.Key
		v := sample{t: def.Out}
		switch def.Out {
		case crules.TypeInt:
			v.i = it.Int
		case crules.TypeAddr:
			v.a = it.Addr
		default:
			v.b = []byte(it.Value)
		}
		m.vals = append(m.vals, v)
		if m.regm {
			m.tmpls = append(m.tmpls, []byte(it.Value))
		}
	}
	m.idx = buildIndex(def.MapMatch, keys, false)
	if m.regm {
		m.regIdx = m.idx.(*regIndex)
	}
	cc.maps[key] = m
	return m
}

// convMap looks the sample up in the map; not found, it gives the
// default value when there is one and fails otherwise (7.3.1 "map").
func (s *State) convMap(c *conv, smp *sample) bool {
	m := c.m
	i := m.idx.lookup(s, *smp)
	if i < 0 {
		if len(c.args) < 2 {
			return false
		}
		d := c.args[1]
		switch m.out {
		case crules.TypeInt:
			*smp = intSample(d.i)
		case crules.TypeAddr:
			v := strSample(d.s)
			if !toAddr(&v) {
				return false
			}
			*smp = v
		default:
			*smp = strSample(d.s)
		}
		return true
	}
	if m.regm {
		sub := m.regIdx.res[i].FindSubmatchIndex(smp.b)
		out, ok := s.expReplace(smp.b, m.tmpls[i], sub)
		if !ok {
			return false
		}
		*smp = strSample(out)
		return true
	}
	*smp = m.vals[i]
	return true
}
